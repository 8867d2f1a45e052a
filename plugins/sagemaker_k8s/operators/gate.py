"""The champion/challenger gate (a branch the UI graph shows), keeping the champion, and the
optional human approval before a promotion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import BaseOperator
from airflow.sdk.bases.branch import BranchMixIn
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.operators.serving import ServingEndpointMixin

DECISION_KEY = "decision"


class SageMakerK8sPromotionGateOperator(ServingEndpointMixin, BaseOperator, BranchMixIn):
    """Compare the newly trained model (challenger) with the one serving now (champion).

    Branches to ``promote_task_id`` or ``keep_task_id``; pushes the decision, both model records
    and the endpoint under the XCom key ``decision``. The champion is read from the serving CR's
    annotations and its metric from SageMaker (its training job's ``FinalMetricDataList``).
    """

    template_fields: Sequence[str] = ("config",)
    inherits_from_skipmixin = True
    ui_color = "#e8dcf5"

    def __init__(
        self,
        *,
        config: dict | Any,
        promote_task_id: str,
        keep_task_id: str,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        template: str = "hostingdeployment.yaml",
        training_task_ids: Sequence[str] = ("wait_training", "wait_tuning"),
        scoring_task_id: str | None = "batch_score",
        **kwargs,
    ) -> None:
        kwargs.setdefault("trigger_rule", "none_failed_min_one_success")
        super().__init__(**kwargs)
        self.config = config
        self.training_task_ids = tuple(training_task_ids)
        self.scoring_task_id = scoring_task_id
        self.promote_task_id = promote_task_id
        self.keep_task_id = keep_task_id
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.template = template
        self.ack_timeout = self.reconciling_timeout = 0.0

    def execute(self, context) -> Any:
        from sagemaker_k8s.config.params import TEST_ACCURACY_METRIC
        from sagemaker_k8s.operators.challenger import pull_challenger, pull_scoring
        from sagemaker_k8s.operators.serving import champion_records
        from sagemaker_k8s.promotion.gate import GateError, decide
        from sagemaker_k8s.promotion.record import ModelRecord

        cfg, dag_id = self.cfg, context["dag"].dag_id
        endpoint, cr_name = self.names(dag_id)
        training = pull_challenger(context, self.training_task_ids)
        scoring = pull_scoring(context, self.scoring_task_id)
        metrics = dict(training.get("metrics") or {})
        if scoring is not None:
            metrics[TEST_ACCURACY_METRIC] = scoring["accuracy"]
        challenger = ModelRecord(
            training_job=training["job_name"],
            training_cr=training["name"],
            model_uri=training["model_path"],
            metric_name=cfg.gate_metric,
            metric_value=metrics.get(cfg.gate_metric),
            run_id=context["run_id"],
            test_accuracy=None if scoring is None else scoring["accuracy"],
            tuning_job=(training.get("tuning") or {}).get("job_name"),
        )
        serving = self.hook.find(self.serving_kind, cr_name, cfg.namespace)
        champion, _, _ = champion_records(serving)
        champion_metrics = None
        if champion is not None:
            champion_metrics = self.aws.final_metrics(champion.training_job)
            if champion.test_accuracy is not None:
                champion_metrics[TEST_ACCURACY_METRIC] = champion.test_accuracy
            self.log.info("champion: training job %s, model %s", champion.training_job, champion.model_uri)
        self.log.info(
            "challenger: training job %s%s, model %s%s",
            challenger.training_job,
            f" (best of tuning job {challenger.tuning_job})" if challenger.tuning_job else "",
            challenger.model_uri,
            "" if scoring is None else f", test accuracy {scoring['accuracy']:.4f}",
        )
        try:
            decision = decide(
                metric_name=cfg.gate_metric,
                direction=cfg.gate_direction,
                min_improvement=cfg.min_improvement,
                force=cfg.force_promote,
                challenger_metrics=metrics,
                champion_metrics=champion_metrics,
                endpoint_name=endpoint,
            )
        except GateError as e:
            raise AirflowFailException(str(e)) from e
        self.log.info(
            "gate on %s (%s): challenger %s, champion %s; rule: %s",
            cfg.gate_metric, cfg.gate_direction, decision.challenger_metric, decision.champion_metric,
            decision.rule,
        )  # fmt: skip
        self.log.info("decision: %s (%s)", decision.action.upper(), decision.reason)
        context["ti"].xcom_push(
            key=DECISION_KEY,
            value={
                **decision.to_dict(),
                "endpoint_name": endpoint,
                "cr_name": cr_name,
                "challenger": asdict(challenger),
                "champion": None if champion is None else asdict(champion),
            },
        )
        return self.do_branch(context, self.promote_task_id if decision.promote else self.keep_task_id)


def pull_decision(context, gate_task_id: str) -> dict:
    decision = context["ti"].xcom_pull(task_ids=gate_task_id, key=DECISION_KEY)
    if not isinstance(decision, dict) or decision.get("action") not in ("promote", "keep"):
        raise AirflowFailException(f"no gate decision from {gate_task_id} in this run: {decision!r}")
    return decision


class SageMakerK8sKeepChampionOperator(BaseOperator):
    """The gate kept the champion: say why; the endpoint is not touched."""

    ui_color = "#eeeeee"

    def __init__(self, *, gate_task_id: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gate_task_id = gate_task_id

    def execute(self, context) -> dict:
        decision = pull_decision(context, self.gate_task_id)
        self.log.info("champion kept on endpoint %s: %s", decision["endpoint_name"], decision["reason"])
        return {"promoted": False, "reason": decision["reason"], "endpoint_name": decision["endpoint_name"]}


class SageMakerK8sApprovalOperator(ApprovalOperator):
    """A person approves the promotion in the Airflow UI when the run's ``require_approval`` is set;
    otherwise approves at once. Reject, or no answer within ``response_timeout``, keeps the champion
    (the promotion is skipped and the run still succeeds)."""

    template_fields: Sequence[str] = (*ApprovalOperator.template_fields, "config")

    def __init__(
        self, *, config: dict | Any, gate_task_id: str, response_timeout: timedelta, **kwargs
    ) -> None:
        super().__init__(
            subject="Promote the new model?",
            body="The gate's comparison of the new model with the champion is shown here when asked.",
            defaults=[ApprovalOperator.REJECT],
            response_timeout=response_timeout,
            **kwargs,
        )
        self.config = config
        self.gate_task_id = gate_task_id

    def execute(self, context) -> Any:
        from sagemaker_k8s.config.run_config import RunConfig
        from sagemaker_k8s.promotion.approval import approval_text

        if not RunConfig.from_dict(self.config).require_approval:
            self.log.info("require_approval is false: promoting without asking")
            return {"approved": True, "required": False}
        decision = pull_decision(context, self.gate_task_id)
        self.subject, self.body = approval_text(decision, self.response_timeout)
        self.log.info("waiting for a person to approve: %s", self.subject)
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        # Logged first: on Reject the parent skips the promotion by raising out of execute_complete.
        chosen = event.get("chosen_options") or []
        user = event.get("responded_by_user") or {}
        who = user.get("name") if isinstance(user, dict) else None
        who = who or "nobody (timed out: the default is Reject)"
        if chosen == [self.APPROVE]:
            self.log.info("promotion approved by %s", who)
        elif "error" not in event:
            self.log.info("promotion rejected by %s: the champion keeps serving, the run succeeds", who)
        result = super().execute_complete(context, event)
        return {"approved": True, "required": True, "responded_by": who, "chosen": result["chosen_options"]}
