"""What the legacy controllers share (controllers/common.go): the finalizer, the first-contact status,
errors wrapped the way ``github.com/pkg/errors`` wraps them, SageMaker 404s, and status timestamps."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

FINALIZER = "sagemaker-operator-finalizer"
INITIAL = "SynchronizingK8sJobWithSageMaker"
# The real controllers requeue every 5 s and write the status (with a fresh check time) each time; the
# emulator polls faster, so it writes an unchanged status only once the check time is this old.
CHECK_TIME_REFRESH = 5.0


class Problem(Exception):
    """A reconcile error whose text is what the real controller writes into ``status.additional``."""

    def wrap(self, message: str) -> Problem:
        return Problem(f"{message}: {self}")


def aws_problem(error: ClientError | BotoCoreError, message: str) -> Problem:
    return Problem(f"{message}: {error}")


def is_not_found(error: ClientError, prefix: str) -> bool:
    """The clientwrapper's 404 test: a ValidationException whose message starts with ``prefix``."""
    return str(error.response.get("Error", {}).get("Message", "")).startswith(prefix)


def rfc3339(value: datetime | None) -> str | None:
    """A metav1.Time as JSON: RFC 3339 in UTC, whole seconds."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return rfc3339(datetime.now(UTC))


def without_empty(fields: dict) -> dict:
    """What Go's ``omitempty`` leaves of a status: no empty strings, lists or missing values."""
    return {k: v for k, v in fields.items() if v not in (None, "", [], {})}


def needs_write(old: dict, new: dict, time_field: str) -> bool:
    """Write when anything but the check time changed, or when the check time is stale."""
    strip = lambda status: {k: v for k, v in status.items() if k != time_field}  # noqa: E731
    if strip(old) != strip(new):
        return True
    try:
        checked = datetime.strptime(old.get(time_field, ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return True
    return time.time() - checked.timestamp() >= CHECK_TIME_REFRESH


def without_finalizer(cr: dict) -> dict:
    cr["metadata"]["finalizers"] = [f for f in cr["metadata"].get("finalizers", []) if f != FINALIZER]
    return cr


def with_finalizer(ctx, res, cr: dict) -> dict:
    """Add the finalizer unless the CR is being deleted or already has it (one Update, as the real one)."""
    meta = cr["metadata"]
    if meta.get("deletionTimestamp") or FINALIZER in meta.get("finalizers", []):
        return cr
    meta.setdefault("finalizers", []).append(FINALIZER)
    return ctx.kube.replace(res, cr)
