"""A trigger that polls one SageMaker custom resource until it is done, failed or stuck.

Runs in the triggerer (or inline under ``airflow dags test``). It has no side effects and yields
exactly one event: ``{"status": <waiting.OUTCOMES>, "message", "name", "namespace", ...}``;
``execute_complete`` of the deferring task checks it strictly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from sagemaker_k8s.exceptions import KubeApiError, KubeNotFound
from sagemaker_k8s.manifests.flavours import LEGACY_HPO_JOB, ResourceKind, kind_for
from sagemaker_k8s.manifests.waiting import ERROR, WaitPolicy, WaitState, assess, deleted


def progress_renderer(kind: ResourceKind) -> Callable[[Any], str] | None:
    """A one-line summary logged at every poll, for kinds whose progress shows beyond their status
    field (a tuning job stays InProgress while its training jobs complete); None: log status changes."""
    if kind == LEGACY_HPO_JOB:
        from sagemaker_k8s.manifests.tuning import render_progress

        return render_progress
    return None


class SageMakerK8sResourceTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        kubernetes_conn_id: str = "kubernetes_default",
        poll_interval: float = 5.0,
        ack_timeout: float = 120.0,
        reconciling_timeout: float = 600.0,
        delete_on_kill: bool = False,
    ) -> None:
        super().__init__()
        self.api_version = api_version
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.kubernetes_conn_id = kubernetes_conn_id
        self.poll_interval = poll_interval
        self.ack_timeout = ack_timeout
        self.reconciling_timeout = reconciling_timeout
        self.delete_on_kill = delete_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "api_version": self.api_version,
                "kind": self.kind,
                "name": self.name,
                "namespace": self.namespace,
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "poll_interval": self.poll_interval,
                "ack_timeout": self.ack_timeout,
                "reconciling_timeout": self.reconciling_timeout,
                "delete_on_kill": self.delete_on_kill,
            },
        )

    def _event(self, payload: dict) -> TriggerEvent:
        return TriggerEvent({**payload, "name": self.name, "namespace": self.namespace, "kind": self.kind})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from sagemaker_k8s.hooks.kubernetes import AsyncSageMakerK8sHook

        kind = kind_for(self.api_version, self.kind)
        hook = AsyncSageMakerK8sHook(self.kubernetes_conn_id)
        policy = WaitPolicy(self.ack_timeout, self.reconciling_timeout)
        state = WaitState()
        render = progress_renderer(kind)
        last = None
        while True:
            try:
                obj = await hook.get(kind, self.name, self.namespace)
            except KubeNotFound:
                yield self._event(deleted(self.kind, self.namespace, self.name).to_event())
                return
            except KubeApiError as e:
                yield self._event({"status": ERROR, "message": str(e)})
                return
            outcome = assess(kind, obj, now=time.time(), state=state, policy=policy)
            if outcome is not None:
                yield self._event(outcome.to_event(object_status=obj.get("status") or {}))
                return
            current = (obj.get("status") or {}).get(kind.status_table.field)
            if render is not None:
                self.log.info("%s %s/%s: %s", self.kind, self.namespace, self.name, render(obj.get("status")))
            elif current != last:
                self.log.info(
                    "%s %s/%s: %s", self.kind, self.namespace, self.name, current or "(no status yet)"
                )
                last = current
            await asyncio.sleep(self.poll_interval)

    async def on_kill(self) -> None:
        """The deferred task was marked failed/success or cleared by a user: delete the custom resource,
        as the task's own ``on_kill`` does when it runs in a worker (the operator then stops the
        SageMaker job). Not called on triggerer restarts, redistribution or timeouts."""
        if not self.delete_on_kill:
            return
        from sagemaker_k8s.hooks.kubernetes import AsyncSageMakerK8sHook

        kind = kind_for(self.api_version, self.kind)
        self.log.info("task killed by a user: deleting %s %s/%s", self.kind, self.namespace, self.name)
        await AsyncSageMakerK8sHook(self.kubernetes_conn_id).delete(kind, self.name, self.namespace)
