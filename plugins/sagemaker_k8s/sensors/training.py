"""Wait for the TrainingJob CR to finish: deferrable by default, also poke/reschedule.

Success pushes the SageMaker job name, ``status.modelPath`` and the final metrics to XCom.
``Failed``/``Stopped`` raise `TerminalStateError` (no retry) with ``status.additional``;
no status within ``ack_timeout`` means the operator is not reconciling; ``ReconcilingTrainingJob``
for longer than ``reconciling_timeout`` fails with its message. The overall timeout is the spec's
``maxRuntimeInSeconds`` plus ``timeout_slack``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.operators import CustomResourceTaskMixin, FlavourAttribute

if TYPE_CHECKING:
    from sagemaker_k8s.waiting import WaitState

# Imported at DAG parse time: the trigger, the typed errors and the hooks are imported where used.


class SageMakerK8sTrainingSensor(CustomResourceTaskMixin, BaseSensorOperator):
    """:param training: the submit task's XCom (``{"name", "namespace", "job_name", "region", ...}``)."""

    template_fields: Sequence[str] = ("training",)
    ui_color = "#ffefd5"
    kind = FlavourAttribute("LEGACY_TRAINING_JOB")

    def __init__(
        self,
        *,
        training: dict | Any,
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
        self.training = training
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
        return self.training["name"], self.training["namespace"]

    def execute(self, context) -> dict | None:
        from sagemaker_k8s.operators.waiting import check_event, make_trigger

        self.timeout = float(self.training["max_runtime_seconds"]) + self.timeout_slack
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
        from sagemaker_k8s.waiting import WaitState, assess

        if self._state is None:
            self._state = WaitState()
        name, namespace = self._target
        try:
            obj = self.hook.get(self.kind, name, namespace)
        except KubeNotFound as e:
            raise AirflowFailException(
                f"TrainingJob {namespace}/{name} was deleted while waiting for it"
            ) from e
        outcome = assess(self.kind, obj, now=time.time(), state=self._state, policy=self.policy)
        if outcome is None:
            status = obj.get("status") or {}
            self.log.info(
                "TrainingJob %s/%s: %s %s",
                namespace,
                name,
                status.get("trainingJobStatus", "(no status yet)"),
                status.get("secondaryStatus", ""),
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
        from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook

        job_name = status.get("sageMakerTrainingJobName") or self.training["job_name"]
        metrics = SageMakerK8sAwsHook(self.aws_conn_id, self.training["region"]).final_metrics(job_name)
        result = {
            "name": self.training["name"],
            "namespace": self.training["namespace"],
            "job_name": job_name,
            "model_path": status.get("modelPath"),
            "metrics": metrics,
        }
        self.log.info("training %s completed: model %s, metrics %s", job_name, result["model_path"], metrics)
        return result

    def on_kill(self) -> None:
        if self.delete_on_kill and isinstance(self.training, dict) and "name" in self.training:
            name, namespace = self._target
            self.log.info(
                "task killed: deleting TrainingJob %s/%s (the operator stops the job)", namespace, name
            )
            self.hook.delete(self.kind, name, namespace)
