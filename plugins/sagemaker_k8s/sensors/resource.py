"""The wait on one custom resource that a submit task created: deferrable by default, also poke.

Subclasses name the kind, the submit task's XCom (``submitted``: ``{"name", "namespace", "region",
"max_runtime_seconds", ...}``), what to log at each poll (``progress``) and what to push on success
(``_finish``). Everything else is shared: the first assessment in the worker, the deferral to
`SageMakerK8sResourceTrigger`, the strict check of its event, "deleted while waiting", ``on_kill``.
The overall timeout is the submit task's ``max_runtime_seconds`` plus ``timeout_slack``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin

if TYPE_CHECKING:
    from sagemaker_k8s.manifests.waiting import WaitState

# Imported at DAG parse time: the trigger, the typed errors and the hooks are imported where used.


class CustomResourceWaitSensor(AwsHookMixin, CustomResourceTaskMixin, BaseSensorOperator):
    ui_color = "#ffefd5"
    kind: Any  # a FlavourKind in each subclass
    #: What ``on_kill`` says deleting the CR does.
    kill_effect = "the operator stops the job"

    def __init__(
        self,
        *,
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
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.deferrable = deferrable
        self.ack_timeout = ack_timeout
        self.reconciling_timeout = reconciling_timeout
        self.timeout_slack = timeout_slack
        self.delete_on_kill = delete_on_kill
        self._state: WaitState | None = None  # created on the first poll

    # -- what a subclass provides -----------------------------------------------------------------------
    @property
    def submitted(self) -> dict:
        raise NotImplementedError

    def progress(self, status: dict) -> str:
        """One log line for a poll that did not finish."""
        raise NotImplementedError

    def _finish(self, status: dict) -> dict:
        """The XCom for the resource's final (successful) ``status``."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------
    @property
    def flavour(self) -> str:
        """The controller flavour the submit task used (XComs from before ACK support are legacy)."""
        submitted = self.submitted
        return submitted.get("flavour", "legacy") if isinstance(submitted, dict) else "legacy"

    @property
    def _target(self) -> tuple[str, str]:
        return self.submitted["name"], self.submitted["namespace"]

    @property
    def aws_region(self) -> str:
        """The region of the submitted job (its submit task's XCom)."""
        return self.submitted["region"]

    def execute(self, context) -> dict | None:
        from sagemaker_k8s.resource_task.events import check_event, make_trigger

        self.timeout = float(self.submitted["max_runtime_seconds"]) + self.timeout_slack
        if not self.deferrable:
            return super().execute(context)
        name, namespace = self._target
        outcome = self._assess_once()
        if outcome is not None:
            return self._finish(check_event(outcome, self.kind, name, namespace))
        trigger = make_trigger(self.kind, name, namespace, self.kubernetes_conn_id, self.poke_interval,
                               self.policy, delete_on_kill=self.delete_on_kill)  # fmt: skip
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timedelta(seconds=self.timeout))
        return None

    def _assess_once(self) -> dict | None:
        from sagemaker_k8s.exceptions import KubeNotFound
        from sagemaker_k8s.manifests.waiting import WaitState, assess, deleted

        if self._state is None:
            self._state = WaitState()
        name, namespace = self._target
        try:
            obj = self.hook.get(self.kind, name, namespace)
        except KubeNotFound as e:
            raise AirflowFailException(deleted(self.kind.kind, namespace, name).message) from e
        outcome = assess(self.kind, obj, now=time.time(), state=self._state, policy=self.policy)
        if outcome is None:
            self.log.info(
                "%s %s/%s: %s", self.kind.kind, namespace, name, self.progress(obj.get("status") or {})
            )
            return None
        return outcome.to_event(
            object_status=obj.get("status") or {}, name=name, namespace=namespace, kind=self.kind.kind
        )

    def poke(self, context) -> PokeReturnValue | bool:
        from sagemaker_k8s.resource_task.events import check_event

        event = self._assess_once()
        if event is None:
            return False
        name, namespace = self._target
        return PokeReturnValue(
            is_done=True, xcom_value=self._finish(check_event(event, self.kind, name, namespace))
        )

    def execute_complete(self, context, event: dict[str, Any]) -> dict:
        from sagemaker_k8s.resource_task.events import check_event

        name, namespace = self._target
        return self._finish(check_event(event, self.kind, name, namespace))

    def on_kill(self) -> None:
        submitted = self.submitted
        if self.delete_on_kill and isinstance(submitted, dict) and "name" in submitted:
            name, namespace = self._target
            self.log.info(
                "task killed: deleting %s %s/%s (%s)", self.kind.kind, namespace, name, self.kill_effect
            )
            self.hook.delete(self.kind, name, namespace)
