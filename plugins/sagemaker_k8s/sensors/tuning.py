"""Wait for the HyperparameterTuningJob CR to finish: deferrable by default, also poke/reschedule.

Every poll logs the tuning job's progress (training jobs completed / in progress / errors / stopped,
the best job so far). Success pushes the best training job as the challenger, with exactly the keys
of the training sensor's result (``name``: its child TrainingJob CR, named like the SageMaker job;
``model_path``; ``metrics``), plus ``tuning``: the tuning job, its objective value (from SageMaker:
the CR's copy has none), the tuned hyperparameters and the counters. ``Failed``/``Stopped`` raise
`TerminalStateError` (no retry) with SageMaker's reason; ``Completed`` without a best job fails too.
The overall timeout is the submit task's ``max_runtime_seconds`` (the whole tuning job) plus
``timeout_slack``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.operators import CustomResourceTaskMixin, FlavourAttribute

if TYPE_CHECKING:
    from sagemaker_k8s.waiting import WaitState

# Imported at DAG parse time: the trigger, the typed errors and the hooks are imported where used.


class SageMakerK8sTuningSensor(CustomResourceTaskMixin, BaseSensorOperator):
    """:param tuning: the submit task's XCom (``{"name", "namespace", "job_name", "region",
    "max_runtime_seconds", "s3_output_path", "objective", ...}``)."""

    template_fields: Sequence[str] = ("tuning",)
    ui_color = "#ffefd5"
    kind = FlavourAttribute("LEGACY_HPO_JOB")

    def __init__(
        self,
        *,
        tuning: dict | Any,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        deferrable: bool = True,
        ack_timeout: float = 120.0,
        reconciling_timeout: float = 600.0,
        timeout_slack: float = 3600.0,
        delete_on_kill: bool = True,
        **kwargs,
    ) -> None:
        kwargs.setdefault("poke_interval", 10.0)
        super().__init__(**kwargs)
        self.tuning = tuning
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.deferrable = deferrable
        self.ack_timeout = ack_timeout
        self.reconciling_timeout = reconciling_timeout
        self.timeout_slack = timeout_slack
        self.delete_on_kill = delete_on_kill
        self._state: WaitState | None = None  # created on the first poll

    @property
    def _target(self) -> tuple[str, str]:
        return self.tuning["name"], self.tuning["namespace"]

    @cached_property
    def aws(self):
        from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook

        return SageMakerK8sAwsHook(self.aws_conn_id, self.tuning["region"])

    def execute(self, context) -> dict | None:
        from sagemaker_k8s.operators.waiting import check_event, make_trigger

        self.timeout = float(self.tuning["max_runtime_seconds"]) + self.timeout_slack
        if not self.deferrable:
            return super().execute(context)
        name, namespace = self._target
        outcome = self._assess_once()
        if outcome is not None:
            return self._finish(check_event(outcome, self.kind, name, namespace))
        self.defer(
            trigger=make_trigger(
                self.kind,
                name,
                namespace,
                self.kubernetes_conn_id,
                self.poke_interval,
                self.policy,
                delete_on_kill=self.delete_on_kill,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None

    def _assess_once(self) -> dict | None:
        from sagemaker_k8s.exceptions import KubeNotFound
        from sagemaker_k8s.manifests.tuning import render_progress
        from sagemaker_k8s.waiting import WaitState, assess

        if self._state is None:
            self._state = WaitState()
        name, namespace = self._target
        try:
            obj = self.hook.get(self.kind, name, namespace)
        except KubeNotFound as e:
            raise AirflowFailException(
                f"HyperparameterTuningJob {namespace}/{name} was deleted while waiting for it"
            ) from e
        outcome = assess(self.kind, obj, now=time.time(), state=self._state, policy=self.policy)
        if outcome is None:
            self.log.info(
                "HyperparameterTuningJob %s/%s: %s", namespace, name, render_progress(obj.get("status"))
            )
            return None
        return outcome.to_event(
            object_status=obj.get("status") or {}, name=name, namespace=namespace, kind=self.kind.kind
        )

    def poke(self, context) -> PokeReturnValue | bool:
        from sagemaker_k8s.operators.waiting import check_event

        event = self._assess_once()
        if event is None:
            return False
        name, namespace = self._target
        return PokeReturnValue(
            is_done=True, xcom_value=self._finish(check_event(event, self.kind, name, namespace))
        )

    def execute_complete(self, context, event: dict[str, Any]) -> dict:
        from sagemaker_k8s.operators.waiting import check_event

        name, namespace = self._target
        return self._finish(check_event(event, self.kind, name, namespace))

    def _finish(self, status: dict) -> dict:
        """The best training job as the challenger, from the Completed CR's status and SageMaker."""
        from sagemaker_k8s.manifests.tuning import best_model_uri, render_progress

        name, namespace = self._target
        self.log.info("HyperparameterTuningJob %s/%s: %s", namespace, name, render_progress(status))
        job_name = status.get("sageMakerHyperParameterTuningJobName") or self.tuning["job_name"]
        result = self.aws.tuning_result(job_name)
        cr_best = (status.get("bestTrainingJob") or {}).get("trainingJobName")
        best = result["best_training_job"] or cr_best
        if not best:
            raise AirflowFailException(
                f"tuning job {job_name} is {result['status']} but has no best training job: no training job "
                f"reported the objective metric {result['objective']['name']!r} "
                f"(training jobs: {result['counters']})"
            )
        metrics = self.aws.final_metrics(best)
        known = {k: v for k, v in result["objective"].items() if v is not None}
        objective = {**(self.tuning.get("objective") or {}), **known}
        if objective.get("value") is None:
            objective["value"] = metrics.get(objective.get("name"))
        if objective.get("value") is None:
            raise AirflowFailException(
                f"tuning job {job_name}: best training job {best} has no value for the objective metric "
                f"{objective.get('name')!r} (its final metrics: {sorted(metrics)})"
            )
        tuning = {
            "name": name,
            "job_name": job_name,
            "objective": {
                "name": objective.get("name"),
                "type": objective.get("type"),
                "value": objective["value"],
            },
            "hyperparameters": result["hyperparameters"],
            "counters": result["counters"],
            "best_training_job": best,
        }
        challenger = {
            "name": best,  # the controller names the child TrainingJob CR after the SageMaker job
            "namespace": namespace,
            "job_name": best,
            "model_path": best_model_uri(self.tuning["s3_output_path"], best),
            "metrics": metrics,
            "tuning": tuning,
        }
        self.log.info(
            "tuning %s completed: best training job %s (%s %s), hyperparameters %s, model %s",
            job_name, best, objective.get("name"), objective["value"], result["hyperparameters"],
            challenger["model_path"],
        )  # fmt: skip
        return challenger

    def on_kill(self) -> None:
        if self.delete_on_kill and isinstance(self.tuning, dict) and "name" in self.tuning:
            name, namespace = self._target
            self.log.info(
                "task killed: deleting HyperparameterTuningJob %s/%s (the operator stops the tuning job "
                "and its training jobs)",
                namespace,
                name,
            )
            self.hook.delete(self.kind, name, namespace)
