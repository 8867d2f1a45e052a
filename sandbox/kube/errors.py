"""Kubernetes ``Status`` error bodies with the apiserver's wording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

# Generic messages (k8s.io/apimachinery NewGenericServerResponse).
GENERIC_MESSAGES = {
    400: "the server rejected our request for an unknown reason",
    401: "Unauthorized",
    403: "forbidden",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    409: "the server reported a conflict",
    410: "the resource requested is no longer available",
    415: "the server does not support the requested media type",
    422: "the server rejected our request due to an error in our request",
    429: "Too many requests, please try again later.",
    500: "an error on the server has prevented the request from succeeding",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing "
    "the request",
}


@dataclass
class FieldError:
    """One field.Error: ``type`` is the cause reason (FieldValueInvalid, ...)."""

    type: str
    field: str
    value: Any = None
    detail: str = ""
    omit_value: bool = False

    _LABELS = {
        "FieldValueRequired": "Required value",
        "FieldValueInvalid": "Invalid value",
        "FieldValueTypeInvalid": "Invalid value",
        "FieldValueNotSupported": "Unsupported value",
        "FieldValueForbidden": "Forbidden",
        "FieldValueTooLong": "Too long",
        "FieldValueTooMany": "Too many",
        "FieldValueDuplicate": "Duplicate value",
        "InternalError": "Internal error",
    }
    _NO_VALUE = frozenset({"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"})

    def body(self) -> str:
        label = self._LABELS.get(self.type, self.type)
        no_value = self.type in self._NO_VALUE or self.omit_value
        text = label if no_value else f"{label}: {go_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def message(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict:
        return {"reason": self.type, "message": self.body(), "field": self.field}


def go_value(value: Any) -> str:
    """Render a bad value the way field.Error does (%v for scalars, %q for strings)."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
    return go_sharp(value)


def go_sharp(value: Any) -> str:
    """Go's %#v for decoded JSON values (map[string]interface {}, []interface {}, ...)."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, str)):
        return go_quote(value) if isinstance(value, str) else str(value)
    if isinstance(value, dict):
        items = ", ".join(f"{go_quote(str(k))}:{go_sharp(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + items + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_sharp(v) for v in value) + "}"
    return repr(value)


def go_quote(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


class KubeApiError(Exception):
    """An API failure carrying a complete ``Status`` object."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        details: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason if reason is not None else REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    @property
    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details if self.details is not None else {},
            "code": self.code,
        }
        if self.details is None:
            body.pop("details")
        return body

    def __repr__(self) -> str:
        return f"KubeApiError({self.code}, {self.reason}, {self.message!r})"


def _details(name: str | None, group: str, kind: str, causes: list | None = None) -> dict:
    details: dict = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    return details


def qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> KubeApiError:
    return KubeApiError(
        404, f'{qualified(resource, group)} "{name}" not found', "NotFound", _details(name, group, resource)
    )


def not_found_generic() -> KubeApiError:
    return KubeApiError(404, GENERIC_MESSAGES[404], "NotFound", {})


def already_exists(group: str, resource: str, name: str) -> KubeApiError:
    return KubeApiError(
        409,
        f'{qualified(resource, group)} "{name}" already exists',
        "AlreadyExists",
        _details(name, group, resource),
    )


def conflict(group: str, resource: str, name: str, why: str) -> KubeApiError:
    return KubeApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        "Conflict",
        _details(name, group, resource),
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(group: str, kind: str, name: str, errors: list[FieldError]) -> KubeApiError:
    head = f'{qualified(kind, group)} "{name}" is invalid'
    messages = [e.message() for e in errors]
    if len(messages) == 1:
        head += f": {messages[0]}"
    elif messages:
        head += ": [" + ", ".join(messages) + "]"
    return KubeApiError(422, head, "Invalid", _details(name, group, kind, [e.cause() for e in errors]))


def bad_request(message: str) -> KubeApiError:
    return KubeApiError(400, message, "BadRequest", None)


def forbidden(group: str, resource: str, name: str, why: str, causes: list | None = None) -> KubeApiError:
    target = f'{qualified(resource, group)} "{name}"' if name else qualified(resource, group)
    return KubeApiError(
        403, f"{target} is forbidden: {why}", "Forbidden", _details(name, group, resource, causes)
    )


def unauthorized() -> KubeApiError:
    """kube-apiserver's 401 for a missing or rejected credential (no details)."""
    return KubeApiError(401, GENERIC_MESSAGES[401], "Unauthorized", None)


def method_not_allowed() -> KubeApiError:
    return KubeApiError(405, GENERIC_MESSAGES[405], "MethodNotAllowed", {})


def unsupported_media_type(content_type: str, accepted: list[str]) -> KubeApiError:
    return KubeApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
        "UnsupportedMediaType",
        {},
    )


def expired(message: str) -> KubeApiError:
    return KubeApiError(410, message, "Expired", None)


def generic(code: int, message: str | None = None, retry_after: int | None = None) -> KubeApiError:
    """An error for an arbitrary HTTP code (used by fault injection)."""
    reason = REASONS.get(code, "Unknown" if code >= 400 else "")
    details: dict = {}
    headers: dict = {}
    if retry_after is not None:
        details["retryAfterSeconds"] = int(retry_after)
        headers["Retry-After"] = str(int(retry_after))
    if message is None:
        message = GENERIC_MESSAGES.get(code, f"the server responded with the status code {code}")
        if code == 500:
            message = "Internal error occurred: injected fault"
    return KubeApiError(code, message, reason, details, headers)
