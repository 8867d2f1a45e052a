"""Waiting on a custom resource from a task: defer to the trigger, or poll in-process.

Shared by the training sensor and the hosting operator so that both read events the same way:
every outcome other than ``success`` raises, and only a Kubernetes API error (``error``) is
retryable — a failed job, a stuck controller or a deleted resource will not change on retry.
"""

from __future__ import annotations

import time
from datetime import timedelta

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from sagemaker_k8s.exceptions import KubeNotFound, OperatorNotReconcilingError, TerminalStateError
from sagemaker_k8s.manifests.flavours import ResourceKind
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger
from sagemaker_k8s.waiting import (
    DELETED,
    ERROR,
    FAILED,
    NOT_ACKNOWLEDGED,
    OUTCOMES,
    RECONCILING_TIMEOUT,
    SUCCESS,
    Outcome,
    WaitPolicy,
    WaitState,
    assess,
)


def make_trigger(
    kind: ResourceKind,
    name: str,
    namespace: str,
    conn_id: str,
    poll_interval: float,
    policy: WaitPolicy,
    *,
    delete_on_kill: bool = False,
) -> SageMakerK8sResourceTrigger:
    return SageMakerK8sResourceTrigger(
        api_version=kind.api_version,
        kind=kind.kind,
        name=name,
        namespace=namespace,
        kubernetes_conn_id=conn_id,
        poll_interval=poll_interval,
        ack_timeout=policy.ack_timeout,
        reconciling_timeout=policy.reconciling_timeout,
        delete_on_kill=delete_on_kill,
    )


def check_event(event: object, kind: ResourceKind, name: str, namespace: str) -> dict:
    """Return the resource's status on success; raise the matching error otherwise."""
    if not isinstance(event, dict) or event.get("status") not in OUTCOMES:
        raise AirflowException(f"unexpected trigger event for {kind.kind} {namespace}/{name}: {event!r}")
    if (event.get("name"), event.get("namespace"), event.get("kind")) != (name, namespace, kind.kind):
        raise AirflowException(
            f"trigger event is for {event.get('kind')} {event.get('namespace')}/{event.get('name')}, "
            f"not {kind.kind} {namespace}/{name}"
        )
    status, message = event["status"], str(event.get("message", ""))
    if status == SUCCESS:
        return dict(event.get("object_status") or {})
    if status == FAILED:
        raise TerminalStateError(message, status=event.get("resource_status"), reason=event.get("reason"))
    if status == NOT_ACKNOWLEDGED:
        raise OperatorNotReconcilingError(message)
    if status == RECONCILING_TIMEOUT:
        raise TerminalStateError(message, status=event.get("resource_status"), reason=event.get("reason"))
    if status == DELETED:
        raise AirflowFailException(message)
    if status == ERROR:
        raise AirflowException(message)
    raise AirflowException(f"unhandled trigger outcome {status!r}")


def poll_until_done(
    hook,
    kind: ResourceKind,
    name: str,
    namespace: str,
    *,
    poll_interval: float,
    policy: WaitPolicy,
    timeout: float,
    log,
) -> dict:
    """The same wait as the trigger, blocking in the worker (``deferrable=False``)."""
    state = WaitState()
    deadline = time.monotonic() + timeout
    while True:
        try:
            obj = hook.get(kind, name, namespace)
        except KubeNotFound:
            event = {
                "status": DELETED,
                "message": f"{kind.kind} {namespace}/{name} was deleted while waiting",
            }
            return check_event(
                {**event, "name": name, "namespace": namespace, "kind": kind.kind}, kind, name, namespace
            )
        outcome: Outcome | None = assess(kind, obj, now=time.time(), state=state, policy=policy)
        if outcome is not None:
            event = outcome.to_event(
                object_status=obj.get("status") or {}, name=name, namespace=namespace, kind=kind.kind
            )
            return check_event(event, kind, name, namespace)
        if time.monotonic() > deadline:
            raise AirflowException(
                f"timed out after {timeout:.0f}s waiting for {kind.kind} {namespace}/{name}"
            )
        log.info(
            "%s %s/%s: %s", kind.kind, namespace, name, (obj.get("status") or {}).get(kind.status_table.field)
        )
        time.sleep(poll_interval)


def defer_timeout(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
