"""Read a custom resource's status the way its controller means it.

Every state set lives here, once, as a frozenset on a ``StatusTable`` per CRD flavour; sensors,
triggers and operators only ever call :func:`interpret`. Values are quoted exactly from the
controllers (see the project notes on the operators' state machines).

Decisions on ambiguous values (each is also pinned by a unit test):

* An unrecognised status string is ``RUNNING`` with a ``note`` -- never ``SUCCEEDED``. Both
  controllers map SageMaker values they do not know to their own "reconciling" value, so an
  unknown string on the CR means a newer controller; waiting (bounded by the sensor's timeout) is
  safer than failing or claiming success.
* Legacy ``Failed`` whose ``additional`` starts with ``Unable to initialize operator`` is the
  operator's own, retried initialisation error -> ``RECONCILING``, not ``FAILED``.
  BatchTransform's operator-written ``Failed`` for throttling is retried too -> ``RECONCILING``.
* ``Stopped`` is always ``FAILED``: nobody asked this pipeline to stop the job.
* HostingDeployment / ACK Endpoint ``OutOfService``: the endpoint exists but does not serve and
  may come back on its own -> ``RECONCILING`` (waiting, surfaced as a warning, bounded by timeout).
* ``Deleting`` (the legacy operator shows it whenever the CR is being deleted) and
  ``UpdateRollbackFailed`` -> ``FAILED``: this deployment will never become ``InService``.
* ``metadata.deletionTimestamp`` set while not yet succeeded -> ``FAILED``: the controller is
  stopping or deleting the SageMaker resource, so waiting cannot end well.
* ACK ``ACK.Terminal=True`` -> ``FAILED`` even over ``Completed``: it means the CR's spec was not
  (or can no longer be) applied, so success would be claimed for a spec that never ran.
  ``ACK.Recoverable=True`` -> ``RECONCILING`` unless the SageMaker status is already final.
* ACK jobs: success is the job's own status (``Completed``), whatever ``ACK.ResourceSynced`` says:
  the controller keeps it False after completion while Debugger/Profiler rule evaluations run.
  ACK Endpoint: ``InService`` while ``ACK.ResourceSynced=False`` -> ``RECONCILING`` (a failed
  update leaves the old config ``InService``; the controller retries it).
* ACK Model and EndpointConfig have no status field: ``ACK.ResourceSynced=True`` is success (the
  SageMaker object exists and matches the spec), False is on its way, no conditions is pending.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sagemaker_k8s.constants import ACK_FINALIZER_PREFIX, LEGACY_FINALIZER

if TYPE_CHECKING:
    from sagemaker_k8s.manifests.flavours import ResourceKind

#: Longest reason copied out of a status (SageMaker failure reasons can be very long).
MAX_REASON = 4000

ACK_TERMINAL = "ACK.Terminal"
ACK_RECOVERABLE = "ACK.Recoverable"
ACK_SYNCED = "ACK.ResourceSynced"
LEGACY_INITIALIZING = "SynchronizingK8sJobWithSageMaker"
LEGACY_INIT_FAILURE_PREFIX = "Unable to initialize operator"
#: Said when a failure value arrives without any reason field.
DEFAULT_FAILURE_REASONS = {
    "Stopped": "the job was stopped before it completed",
    "Deleting": "the endpoint is being deleted",
    "UpdateRollbackFailed": "an endpoint update failed and so did its rollback",
    "Deleted": "the SageMaker object was deleted",
}


class Phase(enum.Enum):
    """Where a custom resource is, from the pipeline's point of view."""

    PENDING = "pending"  # no status yet: the controller has not acknowledged the CR
    RUNNING = "running"
    RECONCILING = "reconciling"  # the controller is retrying an error; will not end by itself
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED)


@dataclass(frozen=True)
class StatusTable:
    """How one CRD flavour reports progress: the status field and what its values mean."""

    field: str
    in_progress: frozenset[str]
    reconciling: frozenset[str]
    success: frozenset[str]
    failure: frozenset[str]
    #: status fields holding a failure/error reason, first non-empty wins
    reason_fields: tuple[str, ...] = ("additional",)
    secondary_field: str | None = None
    #: a failure value whose reason starts with one of these is a retried operator error
    transient_failure_prefixes: tuple[str, ...] = ()
    #: ... or contains one of these
    transient_failure_markers: tuple[str, ...] = ()
    #: ACK kinds: read ``status.conditions``
    ack_conditions: bool = False
    #: shown when a failure carries no reason at all
    missing_reason_hint: str | None = None
    #: ACK kinds: a success value counts only while ``ACK.ResourceSynced`` is not False
    success_needs_synced: bool = False

    def __post_init__(self) -> None:
        sets = (self.in_progress, self.reconciling, self.success, self.failure)
        every = [v for s in sets for v in s]
        if len(every) != len(set(every)):
            raise ValueError(f"status table for {self.field!r} puts one value in two sets")


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`interpret`; ``note`` explains a non-obvious classification."""

    phase: Phase
    status: str | None = None
    secondary: str | None = None
    reason: str | None = None
    note: str | None = None


_JOB_IN_PROGRESS = frozenset({LEGACY_INITIALIZING, "InProgress", "Stopping"})
_JOB_SUCCESS = frozenset({"Completed"})
_JOB_FAILURE = frozenset({"Failed", "Stopped"})

LEGACY_TRAINING_JOB_TABLE = StatusTable(
    field="trainingJobStatus",
    in_progress=_JOB_IN_PROGRESS,
    reconciling=frozenset({"ReconcilingTrainingJob"}),
    success=_JOB_SUCCESS,
    failure=_JOB_FAILURE,
    secondary_field="secondaryStatus",
    transient_failure_prefixes=(LEGACY_INIT_FAILURE_PREFIX,),
)
LEGACY_HPO_JOB_TABLE = StatusTable(
    field="hyperParameterTuningJobStatus",
    in_progress=_JOB_IN_PROGRESS,
    reconciling=frozenset({"ReconcilingTuningJob"}),
    success=_JOB_SUCCESS,
    failure=_JOB_FAILURE,
    transient_failure_prefixes=(LEGACY_INIT_FAILURE_PREFIX,),
)
LEGACY_BATCH_TRANSFORM_TABLE = StatusTable(
    field="transformJobStatus",
    in_progress=_JOB_IN_PROGRESS,
    reconciling=frozenset(),
    success=_JOB_SUCCESS,
    failure=_JOB_FAILURE,
    transient_failure_prefixes=(LEGACY_INIT_FAILURE_PREFIX,),
    transient_failure_markers=("ThrottlingException", "Rate exceeded"),
    missing_reason_hint=(
        "the legacy operator does not copy SageMaker's FailureReason for transform jobs; "
        "run `aws sagemaker describe-transform-job` to see it"
    ),
)
#: The stand-alone Model (and EndpointConfig) controller: one immutable SageMaker object per CR.
#: ``Error`` carries the wrapped AWS error in ``additional``; ``Deleted`` means the object is gone.
# The Model controller requeues an Error every 5 s (a throttled or failed CreateModel may pass next
# time): a wait treats it as reconciling, bounded by its reconciling timeout, with `additional`'s text.
LEGACY_MODEL_TABLE = StatusTable(
    field="status",
    in_progress=frozenset({LEGACY_INITIALIZING}),
    reconciling=frozenset({"Error"}),
    success=frozenset({"Created"}),
    failure=frozenset({"Deleted"}),
)
_ENDPOINT_IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
_ENDPOINT_FAILURE = frozenset({"Failed", "UpdateRollbackFailed", "Deleting"})
LEGACY_HOSTING_DEPLOYMENT_TABLE = StatusTable(
    field="endpointStatus",
    in_progress=_ENDPOINT_IN_PROGRESS | {LEGACY_INITIALIZING},
    reconciling=frozenset({"ReconcilingEndpoint", "OutOfService"}),
    success=frozenset({"InService"}),
    failure=_ENDPOINT_FAILURE,
    reason_fields=("failureReason", "additional"),
    transient_failure_prefixes=(LEGACY_INIT_FAILURE_PREFIX,),
)
_ACK_JOB_IN_PROGRESS = frozenset({"InProgress", "Stopping"})
ACK_TRAINING_JOB_TABLE = StatusTable(
    field="trainingJobStatus",
    in_progress=_ACK_JOB_IN_PROGRESS,
    reconciling=frozenset(),
    success=_JOB_SUCCESS,
    failure=_JOB_FAILURE,
    reason_fields=("failureReason",),
    secondary_field="secondaryStatus",
    ack_conditions=True,
)
ACK_HPO_JOB_TABLE = StatusTable(
    field="hyperParameterTuningJobStatus",
    in_progress=_ACK_JOB_IN_PROGRESS,
    reconciling=frozenset(),
    success=_JOB_SUCCESS,
    failure=_JOB_FAILURE,
    reason_fields=("failureReason",),
    ack_conditions=True,
)
ACK_TRANSFORM_JOB_TABLE = StatusTable(
    field="transformJobStatus",
    in_progress=_ACK_JOB_IN_PROGRESS,
    reconciling=frozenset(),
    success=_JOB_SUCCESS,
    failure=_JOB_FAILURE,
    reason_fields=("failureReason",),
    ack_conditions=True,
)
#: Model and EndpointConfig: no status field, only conditions (see the module docstring).
ACK_CONDITIONS_ONLY_TABLE = StatusTable(
    field="",
    in_progress=frozenset(),
    reconciling=frozenset(),
    success=frozenset(),
    failure=frozenset(),
    reason_fields=(),
    ack_conditions=True,
)
ACK_ENDPOINT_TABLE = StatusTable(
    field="endpointStatus",
    in_progress=_ENDPOINT_IN_PROGRESS,
    reconciling=frozenset({"OutOfService"}),
    success=frozenset({"InService"}),
    failure=_ENDPOINT_FAILURE,
    reason_fields=("failureReason",),
    ack_conditions=True,
    success_needs_synced=True,
)


def _text(value: Any) -> str | None:
    """A status string, or None for absent/empty/non-string values, capped at ``MAX_REASON``."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value if len(value) <= MAX_REASON else value[:MAX_REASON] + "…"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _condition(status: Mapping[str, Any], ctype: str) -> tuple[str | None, str | None]:
    """(status, message) of the condition of type ``ctype``; (None, None) when absent."""
    conditions = status.get("conditions")
    for cond in conditions if isinstance(conditions, list) else ():
        if isinstance(cond, Mapping) and cond.get("type") == ctype:
            state = cond.get("status")
            return (state if isinstance(state, str) else None), (
                _text(cond.get("message")) or _text(cond.get("reason"))
            )
    return None, None


def is_acknowledged(obj: Mapping[str, Any]) -> bool:
    """True once a controller has touched the CR: any status written, or one of its finalizers added."""
    if not isinstance(obj, Mapping):
        return False
    if _mapping(obj.get("status")):
        return True
    finalizers = _mapping(obj.get("metadata")).get("finalizers")
    return any(
        isinstance(f, str) and (f == LEGACY_FINALIZER or f.startswith(ACK_FINALIZER_PREFIX))
        for f in (finalizers if isinstance(finalizers, list) else ())
    )


def interpret(kind: ResourceKind, obj: Mapping[str, Any]) -> Verdict:
    """Classify a custom resource fetched from the API server (see the module docstring)."""
    table = kind.status_table
    obj = _mapping(obj)
    status = _mapping(obj.get("status"))
    raw = status.get(table.field) if table.field else None
    value = raw if isinstance(raw, str) and raw else None
    secondary = _text(status.get(table.secondary_field)) if table.secondary_field else None
    reason = next((r for r in (_text(status.get(f)) for f in table.reason_fields) if r), None)
    phase, why, note = _classify(table, status, raw, value, reason, acknowledged=is_acknowledged(obj))
    deleting = _mapping(obj.get("metadata")).get("deletionTimestamp")
    if deleting and not phase.is_final:
        phase, why = Phase.FAILED, why or "the custom resource is being deleted"
        note = f"metadata.deletionTimestamp is set ({str(deleting)[:40]}); the controller is tearing it down"
    return Verdict(phase=phase, status=value, secondary=secondary, reason=why, note=note)


_Outcome = tuple[Phase, "str | None", "str | None"]


def _classify(
    table: StatusTable,
    status: Mapping[str, Any],
    raw: Any,
    value: str | None,
    reason: str | None,
    *,
    acknowledged: bool,
) -> _Outcome:
    """(phase, reason, note) for one status; the precedence order is the documented one."""
    if table.ack_conditions:
        terminal, terminal_msg = _condition(status, ACK_TERMINAL)
        if terminal == "True":
            why = terminal_msg or reason
            if terminal_msg and reason and reason not in terminal_msg:  # e.g. "check FailureReason"
                why = f"{terminal_msg} (failureReason: {reason})"
            return Phase.FAILED, why, "ACK.Terminal condition is True"
    if value in table.failure:
        if reason and (
            reason.startswith(table.transient_failure_prefixes)
            or any(m in reason for m in table.transient_failure_markers)
        ):
            return Phase.RECONCILING, reason, f"{value!r} written by the operator for an error it retries"
        return Phase.FAILED, reason or table.missing_reason_hint or DEFAULT_FAILURE_REASONS.get(value), None
    if value in table.success:
        synced, synced_msg = _condition(status, ACK_SYNCED) if table.success_needs_synced else (None, None)
        if synced == "False":
            return Phase.RECONCILING, synced_msg, "ACK.ResourceSynced is False"
        return Phase.SUCCEEDED, reason, None
    if table.ack_conditions:
        recoverable, recoverable_msg = _condition(status, ACK_RECOVERABLE)
        if recoverable == "True":
            return Phase.RECONCILING, recoverable_msg or reason, "ACK.Recoverable condition is True"
    if not table.field:  # an ACK kind whose only state is its conditions
        synced, synced_msg = _condition(status, ACK_SYNCED)
        if synced == "True":
            return Phase.SUCCEEDED, None, None
        if synced == "False":
            return Phase.RUNNING, synced_msg, None
        return (
            (Phase.RUNNING, None, "acknowledged; no conditions yet")
            if acknowledged
            else (Phase.PENDING, None, None)
        )
    if value in table.reconciling:
        return Phase.RECONCILING, reason, None
    if value in table.in_progress:
        return Phase.RUNNING, reason, None
    if value is not None:
        return (
            Phase.RUNNING,
            reason,
            f"unrecognised status {value[:80]!r}; waiting (never treated as success)",
        )
    if raw not in (None, ""):
        return Phase.RUNNING, reason, f"status.{table.field} is not a string: {str(raw)[:80]!r}"
    if acknowledged:
        return Phase.RUNNING, reason, f"acknowledged; status.{table.field} not written yet"
    return Phase.PENDING, None, None
