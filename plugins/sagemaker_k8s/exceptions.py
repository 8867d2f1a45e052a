"""The package's error hierarchy.

Airflow retries a task that raises a plain ``AirflowException`` and fails it at once on an
``AirflowFailException``. Every class here picks its side on purpose: bad configuration, a rejected
manifest, a spec clash or a failed SageMaker job will not fix themselves on retry, while
throttling, 5xx and connection errors from the Kubernetes API or S3 will.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

#: Longest piece of a server-supplied message we copy into an exception (log-flood guard).
_MAX_TEXT = 500
_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [REDACTED]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), "[REDACTED]"),  # a JWT
    (
        re.compile(r"(?i)\b(authorization|token|password|secret)(\"?\s*[:=]\s*\"?)[^\s\",}]+"),
        r"\1\2[REDACTED]",
    ),
)


def redact(text: str, limit: int = _MAX_TEXT) -> str:
    """Remove bearer tokens and JWTs from server text and cap its length.

    API servers and proxies occasionally echo request details; a leaked service-account token in
    a task log is worse than a slightly less helpful message.
    """
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    if len(text) > limit:
        text = text[:limit] + "…"
    return text


class SageMakerK8sError(AirflowException):
    """Base class for every error raised by this package."""


class ConfigError(SageMakerK8sError, AirflowFailException):
    """A run-time parameter, Variable or template value is invalid; retrying cannot help.

    ``param`` names the parameter or manifest field at fault so the message and the UI agree;
    ``problems`` lists every problem found when more than one was collected.
    """

    def __init__(self, message: str, *, param: str | None = None, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.param = param
        self.problems = problems


@dataclass(frozen=True)
class FieldError:
    """One schema violation, located by a dotted path such as ``spec.resourceConfig.instanceCount``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.message}"


class ManifestValidationError(ConfigError):
    """A manifest does not satisfy its CRD schema (or has fields the API server would silently drop)."""

    def __init__(self, resource: str, errors: list[FieldError]) -> None:
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(
            f"{resource} is not a valid manifest ({len(errors)} problem(s)):\n{lines}",
            param=errors[0].path if errors else None,
            problems=tuple(str(e) for e in errors),
        )
        self.resource = resource
        self.errors = list(errors)


class SpecMismatchError(SageMakerK8sError, AirflowFailException):
    """An existing custom resource has the name we want but a different spec.

    Reattaching would silently track a job configured differently from this run's params.
    """

    def __init__(self, message: str, differences: list[str]) -> None:
        super().__init__(message + "".join(f"\n  - {d}" for d in differences))
        self.differences = list(differences)


class TerminalStateError(SageMakerK8sError, AirflowFailException):
    """The SageMaker job or endpoint reached a final unsuccessful state (Failed, Stopped, ...)."""

    def __init__(self, message: str, *, status: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class OperatorNotReconcilingError(SageMakerK8sError, AirflowFailException):
    """The controller never acknowledged the custom resource (no status, no finalizer) in time."""


# --- Kubernetes API errors -----------------------------------------------------------------------


class KubeApiError(SageMakerK8sError):
    """An error response from the Kubernetes API server (or no response at all: ``status`` None)."""

    def __init__(
        self, message: str, *, status: int | None = None, reason: str | None = None, body: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.body = body


class KubeNotFound(KubeApiError):
    """404: the resource, namespace or CRD does not exist."""


class KubeConflict(KubeApiError):
    """409: ``AlreadyExists`` on create, or a stale ``resourceVersion`` on update."""

    @property
    def already_exists(self) -> bool:
        return self.reason == "AlreadyExists"


class KubeInvalid(KubeApiError, AirflowFailException):
    """422: the API server rejected the manifest; ``causes`` holds its per-field complaints."""

    def __init__(self, message: str, *, causes: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.causes = list(causes or [])


class KubeForbidden(KubeApiError):
    """403: RBAC denies the verb; retried because an admin may grant it between attempts."""


class KubeUnauthorized(KubeApiError):
    """401: the credentials were rejected (an expired EKS token is the usual cause)."""


class KubeTransientError(KubeApiError):
    """429, 5xx, timeouts, connection errors: safe to retry, honouring ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


_BY_STATUS: dict[int, type[KubeApiError]] = {
    401: KubeUnauthorized,
    403: KubeForbidden,
    404: KubeNotFound,
    409: KubeConflict,
    422: KubeInvalid,
}
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _parse_body(body: str | bytes | dict[str, Any] | None) -> dict[str, Any] | None:
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def kube_error_from_status(
    status: int, body: str | bytes | dict[str, Any] | None, retry_after: float | None = None
) -> KubeApiError:
    """Turn an HTTP status and a Kubernetes ``Status`` body into the matching typed error.

    Only the body's ``message``/``reason``/``details`` are used; headers never reach the message,
    and the message is redacted and length-capped before it can land in a log.
    """
    parsed = _parse_body(body)
    reason: str | None = None
    causes: list[dict[str, Any]] = []
    if parsed is not None:
        message = str(parsed.get("message") or "")
        reason = parsed.get("reason") if isinstance(parsed.get("reason"), str) else None
        details = parsed.get("details") if isinstance(parsed.get("details"), dict) else {}
        raw_causes = details.get("causes")
        if isinstance(raw_causes, list):
            causes = [c for c in raw_causes if isinstance(c, dict)]
        hinted = details.get("retryAfterSeconds")
        if retry_after is None and isinstance(hinted, int | float) and not isinstance(hinted, bool):
            retry_after = float(hinted)
    else:
        message = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    message = redact(" ".join(message.split()))
    text = f"Kubernetes API returned HTTP {status}" + (f" {reason}" if reason else "")
    if message:
        text += f": {message}"
    if causes:
        text += "".join(
            f"\n  - {redact(str(c.get('field', '')), 200)}: {redact(str(c.get('message', '')), 200)}"
            for c in causes[:20]
        )
    kwargs: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "body": parsed if parsed is not None else body,
    }
    if status in TRANSIENT_STATUSES:
        return KubeTransientError(text, retry_after=retry_after, **kwargs)
    cls = _BY_STATUS.get(status, KubeApiError)
    if cls is KubeInvalid:
        return KubeInvalid(text, causes=causes, **kwargs)
    return cls(text, **kwargs)


# --- S3 errors -----------------------------------------------------------------------------------


class S3ObjectError(SageMakerK8sError):
    """An S3 request about one object failed after botocore's own retries (``SlowDown``, 5xx, a lost
    connection, ...); retried by Airflow, whose next try skips what is already stored.

    The message names ``s3://bucket/key``, the operation, the S3 error code and message and the
    attempts made. It is built from the parsed error only: never request headers or credentials.
    """

    def __init__(
        self,
        message: str,
        *,
        bucket: str,
        key: str,
        operation: str | None = None,
        code: str | None = None,
        status: int | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.bucket = bucket
        self.key = key
        self.operation = operation
        self.code = code
        self.status = status
        self.attempts = attempts

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _one_line(text: object, limit: int = 300) -> str:
    return redact(" ".join(str(text).split()), limit)


def s3_object_error(
    error: BaseException, *, bucket: str, key: str, operation: str | None = None
) -> S3ObjectError:
    """Turn a botocore error (``ClientError``, or a ``BotoCoreError`` such as a connection error)
    about ``s3://bucket/key`` into an :class:`S3ObjectError` that says which object failed and how.

    ``ClientError``: code, message, HTTP status and attempts from its parsed ``response`` (botocore's
    own message names neither bucket nor key). Anything else: its class name and redacted text.
    """
    response = getattr(error, "response", None)
    response = response if isinstance(response, dict) else {}
    details = response.get("Error") if isinstance(response.get("Error"), dict) else {}
    meta = response.get("ResponseMetadata") if isinstance(response.get("ResponseMetadata"), dict) else {}
    operation = operation or getattr(error, "operation_name", None)
    code = _one_line(details.get("Code") or type(error).__name__, 100)
    message = _one_line(details.get("Message") or ("" if response else error))
    status = meta.get("HTTPStatusCode") if isinstance(meta.get("HTTPStatusCode"), int) else None
    retries = meta.get("RetryAttempts")
    attempts = retries + 1 if isinstance(retries, int) and not isinstance(retries, bool) else None
    uri = f"s3://{bucket}/{key}"
    text = f"S3 {operation or 'request'} of {uri} failed: {code}" + (f": {message}" if message else "")
    facts = [f"HTTP {status}"] if status else []
    if attempts:
        facts.append(f"{attempts} attempt{'s' if attempts > 1 else ''}")
    if facts:
        text += f" ({', '.join(facts)})"
    return S3ObjectError(
        text, bucket=bucket, key=key, operation=operation, code=code, status=status, attempts=attempts
    )


# --- SageMaker API errors ------------------------------------------------------------------------


class SageMakerApiError(SageMakerK8sError):
    """A SageMaker request about one job failed after botocore's own retries; retried by Airflow.

    The message names the operation, the job and SageMaker's error code and message.
    """

    def __init__(self, message: str, *, operation: str, job_name: str, code: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.job_name = job_name
        self.code = code


class SageMakerJobNotFound(SageMakerApiError, AirflowFailException):
    """SageMaker has no job of that name: retrying cannot make one appear."""


_NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceNotFoundException"})


def sagemaker_error(error: BaseException, *, operation: str, job_name: str) -> SageMakerApiError:
    """A botocore error about ``job_name`` as a :class:`SageMakerApiError` (not found: fail at once)."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    details = details if isinstance(details, dict) else {}
    code = _one_line(details.get("Code") or type(error).__name__, 100)
    message = _one_line(details.get("Message") or ("" if details else error))
    text = f"SageMaker {operation} of {job_name} failed: {code}" + (f": {message}" if message else "")
    cls = SageMakerJobNotFound if code in _NOT_FOUND_CODES else SageMakerApiError
    return cls(text, operation=operation, job_name=job_name, code=code)
