"""Waiting on a custom resource from a task: the trigger to defer to, and the strict check of its event.

Shared by the wait sensors and the operators that wait (batch scoring, serving) so that all read events alike:
every outcome other than ``success`` raises, and only a Kubernetes API error (``error``) is
retryable — a failed job, a stuck controller or a deleted resource will not change on retry.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from sagemaker_k8s.exceptions import OperatorNotReconcilingError, TerminalStateError
from sagemaker_k8s.manifests.flavours import ResourceKind
from sagemaker_k8s.manifests.waiting import (
    DELETED,
    ERROR,
    FAILED,
    NOT_ACKNOWLEDGED,
    OUTCOMES,
    RECONCILING_TIMEOUT,
    SUCCESS,
    WaitPolicy,
)
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger


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
