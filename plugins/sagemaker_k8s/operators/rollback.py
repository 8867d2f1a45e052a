"""Roll the endpoint back to the champion when a promotion failed (its rollout, or its smoke test).

Runs when something downstream of the training failed (trigger rule ``one_failed``, which also fires
on ``upstream_failed``), and acts only if ``promote_endpoint`` itself ran in this run (it succeeded
or failed); otherwise it skips: a failed training never touched the endpoint. It takes no XCom
references (a failed upstream would leave them unresolvable), it pulls them. The champion record
on the serving CR says what to go back to; the rollback is another in-place update, verified live
the same way, after which the champion's live accuracy is measured and the task fails naming both
accuracies: the run did not deliver its model. With no champion (the first model failed) the
endpoint is deleted rather than left serving a model that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from sagemaker_k8s.operators.promote import _ServingTask


class SageMakerK8sRollbackOperator(_ServingTask):
    template_fields: Sequence[str] = ()
    ui_color = "#f5d5d5"

    def __init__(
        self,
        *,
        config_task_id: str,
        dataset_task_id: str,
        promote_task_id: str,
        smoke_task_id: str,
        **kwargs,
    ) -> None:
        super().__init__(config=None, **kwargs)
        self.config_task_id = config_task_id
        self.dataset_task_id = dataset_task_id
        self.promote_task_id = promote_task_id
        self.smoke_task_id = smoke_task_id
        self.dataset: dict | None = None

    def _pull_inputs(self, context) -> None:
        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[self.promote_task_id], run_ids=[ti.run_id])
        promoted = (states.get(ti.run_id) or {}).get(self.promote_task_id)
        if promoted not in ("success", "failed"):
            raise AirflowSkipException(
                f"{self.promote_task_id} did not run in this run ({promoted}): the endpoint was not touched"
            )
        self.config = ti.xcom_pull(task_ids=self.config_task_id)
        self.dataset = ti.xcom_pull(task_ids=self.dataset_task_id)

    def _why(self, context) -> str:
        accuracy = context["ti"].xcom_pull(task_ids=self.smoke_task_id, key="accuracy")
        if isinstance(accuracy, int | float):
            return f"the promoted model's accuracy {accuracy:.3f} < min_accuracy {self.cfg.min_accuracy}"
        return "the promotion did not complete (see promote_endpoint and smoke_test_endpoint)"

    def execute(self, context) -> None:
        from sagemaker_k8s.operators.serving import champion_records
        from sagemaker_k8s.promotion.record import rolled_back_patch
        from sagemaker_k8s.promotion.rollout import Baseline

        self._pull_inputs(context)
        dag_id = context["dag"].dag_id
        endpoint, cr_name = self.names(dag_id)
        why = self._why(context)
        serving = self._owned_serving(dag_id)
        if serving is None:
            raise AirflowFailException(f"{why}; the endpoint {endpoint} does not exist, nothing to roll back")
        champion, _, _ = champion_records(serving)
        if champion is None:
            self.hook.delete(self.serving_kind, cr_name, self.cfg.namespace)
            self.prune_revisions(dag_id, keep=set())
            raise AirflowFailException(
                f"{why}; there is no champion to roll back to, so {self.serving_kind.kind} {cr_name} is "
                "deleted "
                f"(endpoint {endpoint} does not serve a model that failed; the next good run recreates it)"
            )
        live = self.aws.live_endpoint(endpoint)
        meta = serving["metadata"]
        if self.wanted_model(serving) == champion.model_uri and live and live.model_url == champion.model_uri:
            self.hook.patch(self.serving_kind, meta["name"], meta["namespace"], rolled_back_patch())
            self._finish(context, champion, why, rolled=False)
        self.log.info("rolling endpoint %s back to champion %s (%s)", endpoint, champion.training_job,
                      champion.model_uri)  # fmt: skip
        self.change_model(dag_id, serving, champion.model_uri, rolled_back_patch())
        baseline = Baseline.of(live)
        self.defer_rollout(dag_id, champion.model_uri, baseline)

    def execute_complete(self, context, event: dict[str, Any]) -> None:
        from sagemaker_k8s.operators.serving import champion_records

        self._pull_inputs(context)
        _, cr_name = self.names(context["dag"].dag_id)
        champion, _, _ = champion_records(self.hook.get(self.serving_kind, cr_name, self.cfg.namespace))
        if champion is None:
            raise AirflowFailException("the champion record disappeared during the rollback")
        self.live_after(context, event, champion.model_uri)
        self.prune_revisions(context["dag"].dag_id, keep={champion.model_uri})
        self._finish(context, champion, self._why(context), rolled=True)

    def _finish(self, context, champion, why: str, *, rolled: bool) -> None:
        from sagemaker_k8s.operators.smoke_test import measure_accuracy

        endpoint, _ = self.names(context["dag"].dag_id)
        score, rows = measure_accuracy(self.aws, self.cfg, self.dataset, endpoint)
        action = "rolled back to" if rolled else "still serves"
        message = (
            f"{why}; endpoint {endpoint} {action} the champion {champion.training_job} "
            f"({champion.model_uri}), whose live accuracy is {score:.3f} on {rows} rows"
        )
        self.log.info(message)
        raise AirflowFailException(message)
