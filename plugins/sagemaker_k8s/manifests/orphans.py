"""Which custom resources nobody watches any more: the decision behind the cleanup task.

A deferred wait that a user marks failed (or success) gets its trigger's ``on_kill``, which deletes
the CR -- but only if a triggerer was already running that trigger. Marked in the seconds before a
triggerer picks it up, or after a wait that failed for a reason of its own (a Kubernetes API outage
past the retries, a stuck controller), the CR can be left with its SageMaker job still billing. The
cleanup task runs after the wait whatever its outcome and deletes such a CR; this module decides.

Pure: no I/O, no Airflow imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sagemaker_k8s.manifests.status import interpret

if TYPE_CHECKING:
    from sagemaker_k8s.manifests.flavours import ResourceKind

#: The wait's state that means the resource reached success and is still wanted.
WATCHED_TO_SUCCESS = "success"


def unwatched_reason(
    kind: ResourceKind, obj: Mapping[str, Any] | None, wait_state: str | None, wait_task_id: str
) -> str | None:
    """Why ``obj`` must be deleted now that its wait ended in ``wait_state``; ``None`` to keep it.

    Kept: a resource that is gone or already being deleted, one whose wait succeeded, and one that is
    final (``Completed``, ``Failed``, ``Stopped``: nothing runs, and its status is the record of what
    happened). Deleted: anything else -- no status yet, in progress, or reconciling -- because the
    wait that was meant to follow it has ended and nothing else will.
    """
    if obj is None:
        return None
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return None
    if wait_state == WATCHED_TO_SUCCESS:
        return None
    verdict = interpret(kind, obj)
    if verdict.phase.is_final:
        return None
    meta = obj.get("metadata") or {}
    where = f"{kind.kind} {meta.get('namespace')}/{meta.get('name')}"
    shown = verdict.status or "no status yet"
    return (
        f"{wait_task_id} ended {wait_state or 'without a state'} while {where} is still "
        f"{verdict.phase.value} ({shown}); nothing watches it any more"
    )
