"""Delete the training (or tuning) CR a wait left behind, so no SageMaker job runs on unwatched.

Runs after the wait whatever its outcome (``trigger_rule="all_done"``). Normally a no-op: the job is
``Completed`` (or ``Failed``/``Stopped``, kept as the record), or the trigger's/task's ``on_kill``
already deleted it. It acts when a wait was marked failed before any triggerer ran its trigger, or
failed on its own while the job was still running or the controller still reconciling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from sagemaker_k8s.resource_task import CustomResourceTaskMixin

# Imported at DAG parse time: the decision and the hooks are imported where they are used.

#: The roles (``manifests.flavours.KINDS_BY_ROLE``) whose CR a wait can leave behind.
ROLES = ("training", "tuning")


class SageMakerK8sCleanupOperator(CustomResourceTaskMixin, BaseOperator):
    """:param submit_task_id: the task whose XCom names the CR (``{"name", "namespace", "flavour", ...}``)
    :param wait_task_id: the task that waited for it; its final state decides (see ``manifests.orphans``)
    :param role: the CR's pipeline role, ``"training"`` or ``"tuning"`` (the tuning branch: deleting a
        tuning CR makes the controller stop its training jobs too); its kind is the role's on the
        flavour the submit task's XCom names (legacy for an XCom from before ACK support)
    Returns ``{"name", "namespace", "wait_state", "deleted", "reason"}``; skipped when nothing was
    submitted (the run failed before ``submit_training``, or it was marked success without running).
    """

    template_fields: Sequence[str] = ()
    ui_color = "#e8e8e8"

    def __init__(
        self,
        *,
        submit_task_id: str = "submit_training",
        wait_task_id: str = "wait_training",
        kubernetes_conn_id: str = "kubernetes_default",
        role: str = "training",
        **kwargs,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.submit_task_id = submit_task_id
        self.wait_task_id = wait_task_id
        self.kubernetes_conn_id = kubernetes_conn_id
        self.role = role
        self._flavour = "legacy"  # the submit task's, once execute has read its XCom

    @property
    def flavour(self) -> str:
        return self._flavour

    @property
    def kind(self):
        """The CR's ``ResourceKind`` (imported when the task runs, not when the DAG is parsed)."""
        from sagemaker_k8s.manifests.flavours import kind_of

        return kind_of(self.role, self.flavour)

    def execute(self, context) -> dict[str, Any]:
        ti = context["ti"]
        submitted = ti.xcom_pull(task_ids=self.submit_task_id)
        if not isinstance(submitted, dict) or "name" not in submitted:
            raise AirflowSkipException(
                f"{self.submit_task_id} submitted nothing in this run: nothing to clean up"
            )
        return self.clean(
            submitted["name"],
            submitted["namespace"],
            self._state_of(context, self.wait_task_id),
            flavour=submitted.get("flavour", "legacy"),
        )

    def clean(
        self, name: str, namespace: str, wait_state: str | None, *, flavour: str = "legacy"
    ) -> dict[str, Any]:
        """Delete the CR (of ``role`` on ``flavour``) if its wait ended in ``wait_state`` and it is not
        final; say what was done."""
        from sagemaker_k8s.manifests.orphans import unwatched_reason

        self._flavour = flavour
        obj = self.hook.find(self.kind, name, namespace)
        reason = unwatched_reason(self.kind, obj, wait_state, self.wait_task_id)
        result = {"name": name, "namespace": namespace, "wait_state": wait_state, "deleted": False}
        if reason is None:
            shown = "gone" if obj is None else (obj.get("status") or {}).get(self.kind.status_table.field)
            self.log.info(
                "%s %s/%s: %s; %s %s: nothing to clean up",
                self.kind.kind,
                namespace,
                name,
                shown or "no status yet",
                self.wait_task_id,
                wait_state,
            )
            return {**result, "reason": None}
        self.log.warning("%s: deleting it (the controller stops the SageMaker job)", reason)
        deleted = self.hook.delete(self.kind, name, namespace)
        return {**result, "deleted": deleted, "reason": reason}

    @staticmethod
    def _state_of(context, task_id: str) -> str | None:
        """The final state of ``task_id`` in this DAG run, as the API server has it."""
        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[task_id], run_ids=[ti.run_id])
        return (states.get(ti.run_id) or {}).get(task_id)
