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


class SageMakerK8sCleanupOperator(CustomResourceTaskMixin, BaseOperator):
    """:param submit_task_id: the task whose XCom names the CR (``{"name", "namespace", ...}``)
    :param wait_task_id: the task that waited for it; its final state decides (see ``orphans``)
    :param kind_name: the ``manifests.flavours`` constant of the CR's kind (``"LEGACY_HPO_JOB"`` for
        the tuning branch: deleting a tuning CR makes the controller stop its training jobs too)
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
        kind_name: str = "LEGACY_TRAINING_JOB",
        **kwargs,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.submit_task_id = submit_task_id
        self.wait_task_id = wait_task_id
        self.kubernetes_conn_id = kubernetes_conn_id
        self.kind_name = kind_name

    @property
    def kind(self):
        """The CR's ``ResourceKind`` (imported when the task runs, not when the DAG is parsed)."""
        from sagemaker_k8s.manifests import flavours

        return getattr(flavours, self.kind_name)

    def execute(self, context) -> dict[str, Any]:
        ti = context["ti"]
        submitted = ti.xcom_pull(task_ids=self.submit_task_id)
        if not isinstance(submitted, dict) or "name" not in submitted:
            raise AirflowSkipException(
                f"{self.submit_task_id} submitted nothing in this run: nothing to clean up"
            )
        return self.clean(
            submitted["name"], submitted["namespace"], self._state_of(context, self.wait_task_id)
        )

    def clean(self, name: str, namespace: str, wait_state: str | None) -> dict[str, Any]:
        """Delete the CR if its wait ended in ``wait_state`` and it is not final; say what was done."""
        from sagemaker_k8s.orphans import unwatched_reason

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
        self.log.warning("%s: deleting it (the operator stops the SageMaker job)", reason)
        deleted = self.hook.delete(self.kind, name, namespace)
        return {**result, "deleted": deleted, "reason": reason}

    @staticmethod
    def _state_of(context, task_id: str) -> str | None:
        """The final state of ``task_id`` in this DAG run, as the API server has it."""
        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[task_id], run_ids=[ti.run_id])
        return (states.get(ti.run_id) or {}).get(task_id)
