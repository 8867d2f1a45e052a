"""When to stop waiting on a custom resource, and why: shared by sensors (poke) and triggers.

Two phases, both bounded:
(a) acknowledgement: the controller must write a status within ``ack_timeout`` of the CR's
    creation, else the operator is not reconciling (not running, or not watching the namespace);
(b) completion: success/failure come from the flavour's status table; a controller stuck
    reconciling an error (``ReconcilingTrainingJob`` never turns into Failed by itself) fails after
    ``reconciling_timeout`` with the controller's message.
Pure: the caller supplies the object, the clock and the small mutable `WaitState`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sagemaker_k8s.manifests.flavours import ResourceKind
from sagemaker_k8s.manifests.status import Phase, Verdict, interpret

SUCCESS = "success"
FAILED = "failed"
NOT_ACKNOWLEDGED = "not_acknowledged"
RECONCILING_TIMEOUT = "reconciling_timeout"
DELETED = "deleted"
ERROR = "error"
OUTCOMES = frozenset({SUCCESS, FAILED, NOT_ACKNOWLEDGED, RECONCILING_TIMEOUT, DELETED, ERROR})


@dataclass(frozen=True)
class WaitPolicy:
    ack_timeout: float = 120.0
    reconciling_timeout: float = 600.0


@dataclass
class WaitState:
    reconciling_since: float | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # one of OUTCOMES
    message: str
    phase: str | None = None
    resource_status: str | None = None
    reason: str | None = None

    def to_event(self, **extra) -> dict:
        return {**asdict(self), **extra}


def deleted(kind: str, namespace: str, name: str) -> Outcome:
    """The outcome when the CR itself is gone (a user's ``kubectl delete``, a cleanup): the one message
    the sensor's poke and both triggers give."""
    return Outcome(DELETED, f"{kind} {namespace}/{name} was deleted while waiting for it")


def created_at(obj: dict) -> float | None:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def describe(kind: ResourceKind, obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{kind.kind} {meta.get('namespace', '?')}/{meta.get('name', '?')}"


def assess(
    kind: ResourceKind, obj: dict, *, now: float, state: WaitState, policy: WaitPolicy
) -> Outcome | None:
    """None while the resource is still on its way; otherwise the final `Outcome`."""
    verdict: Verdict = interpret(kind, obj)
    what = describe(kind, obj)
    namespace = (obj.get("metadata") or {}).get("namespace", "?")
    if verdict.phase is Phase.SUCCEEDED:
        return Outcome(SUCCESS, f"{what} is {verdict.status}", verdict.phase.value, verdict.status)
    if verdict.phase is Phase.FAILED:
        reason = verdict.reason or "no reason given"
        return Outcome(
            FAILED,
            f"{what} ended {verdict.status}: {reason}",
            verdict.phase.value,
            verdict.status,
            verdict.reason,
        )
    if verdict.phase is Phase.PENDING:
        born = created_at(obj) or now
        if now - born > policy.ack_timeout:
            return Outcome(
                NOT_ACKNOWLEDGED,
                f"{what} has no status {now - born:.0f}s after creation: the operator is not reconciling — "
                f"is it running and watching namespace {namespace}? "
                "(kubectl get pods -n sagemaker-k8s-operator-system; check the manager's --namespace flag)",
                verdict.phase.value,
            )
        return None
    if verdict.phase is Phase.RECONCILING:
        if state.reconciling_since is None:
            state.reconciling_since = now
        if now - state.reconciling_since > policy.reconciling_timeout:
            reason = verdict.reason or "no message"
            state_text = verdict.status or "retrying an error"
            if verdict.note:  # e.g. "ACK.Recoverable condition is True"
                state_text = f"{state_text} ({verdict.note})"
            return Outcome(
                RECONCILING_TIMEOUT,
                f"{what} has been {state_text} for {now - state.reconciling_since:.0f}s: {reason}",
                verdict.phase.value,
                verdict.status,
                verdict.reason,
            )
        return None
    state.reconciling_since = None
    return None
