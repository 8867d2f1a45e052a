"""HTTP-level fault injection for moto's S3: throttling (``503 SlowDown``) and ``500 InternalError``.

A WSGI middleware in front of moto answers matching S3 requests with the error S3 itself sends
instead of serving them; everything else goes to moto untouched. The design mirrors the Kubernetes
emulator's ``sandbox.kube.faults``: rules are checked in insertion order, the first active matching
rule fires (waits ``delay_seconds``, then answers ``code`` unless it is None) and counts a hit;
``count`` limits how often a rule fires (None: forever).

A rule matches a request when every field it sets matches: ``method``; ``bucket`` and ``key``
(``fnmatch`` globs, so ``"pre/*"`` is a prefix; a ``key`` rule never matches bucket-level requests);
``operation`` (``PutObject``, ``UploadPart``, ``CreateMultipartUpload``, ``CompleteMultipartUpload``,
``GetObject``, ... see :func:`operation_of`); ``part_number`` (one part of a multipart upload).

    rule = srv.s3_faults.add(method="PUT", bucket="b", key="data/*", count=3)   # 3 x 503 SlowDown
    srv.s3_faults.add(operation="UploadPart", key="big", part_number=2, code="InternalError")
    srv.s3_faults.hits(rule); srv.s3_faults.fired(); srv.s3_faults.clear()

Only requests signed for S3 (SigV4 header or presigned query; SigV2) in path-style addressing (what
botocore uses with an IP ``endpoint_url``) are considered. In-process reads and writes of moto's S3
(the SageMaker simulator's ``s3io``) are never faulted.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import time
import uuid
from collections import deque
from urllib.parse import parse_qs

from sandbox.faultrules import CountedRule, RuleRegistry

#: code -> (HTTP status line, message), as S3 sends them.
ERRORS: dict[str, tuple[str, str]] = {
    "SlowDown": ("503 Slow Down", "Please reduce your request rate."),
    "InternalError": ("500 Internal Server Error", "We encountered an internal error. Please try again."),
}

_OBJECT_SUBRESOURCES = frozenset({"versionId", "partNumber", "uploadId", "uploads", "x-id"})


@dataclasses.dataclass
class S3FaultRule(CountedRule):
    method: str | None
    bucket: str | None
    key: str | None
    operation: str | None
    part_number: int | None
    code: str | None
    delay_seconds: float

    def matches(self, request: S3Request) -> bool:
        if self.method and self.method != request.method:
            return False
        if self.operation and self.operation != request.operation:
            return False
        if self.part_number is not None and self.part_number != request.part_number:
            return False
        if self.bucket is not None and not fnmatch.fnmatchcase(request.bucket, self.bucket):
            return False
        return self.key is None or (bool(request.key) and fnmatch.fnmatchcase(request.key, self.key))


@dataclasses.dataclass(frozen=True)
class S3Request:
    method: str
    bucket: str
    key: str
    operation: str | None
    part_number: int | None


@dataclasses.dataclass(frozen=True)
class S3FaultHit:
    """One request a rule answered (or delayed)."""

    rule: int
    code: str | None
    method: str
    bucket: str
    key: str
    operation: str | None
    part_number: int | None


class S3Faults(RuleRegistry[S3FaultRule]):
    """Thread-safe rules plus a bounded log of the requests they fired for."""

    def __init__(self, log_size: int = 10000) -> None:
        super().__init__()
        self._fired: deque[S3FaultHit] = deque(maxlen=log_size)

    def add(
        self,
        method: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        operation: str | None = None,
        part_number: int | None = None,
        code: str | None = "SlowDown",
        count: int | None = None,
        delay_seconds: float = 0.0,
    ) -> int:
        """Arm a rule; returns its id. ``code`` is ``SlowDown`` (503), ``InternalError`` (500) or None
        (only ``delay_seconds`` of latency, then moto serves the request)."""
        if code is not None and code not in ERRORS:
            raise ValueError(f"unknown S3 error code {code!r}; expected one of {sorted(ERRORS)} or None")
        if count is not None and count < 0:
            raise ValueError("count must be >= 0 (or None: forever)")
        if delay_seconds < 0:
            raise ValueError("delay_seconds must be >= 0")
        if part_number is not None and (operation or "UploadPart") != "UploadPart":
            raise ValueError("part_number only applies to UploadPart")
        return self._register(
            lambda rule_id: S3FaultRule(
                id=rule_id,
                method=method.upper() if method else None,
                bucket=bucket,
                key=key,
                operation="UploadPart" if part_number is not None else operation,
                part_number=None if part_number is None else int(part_number),
                code=code,
                count=count,
                delay_seconds=float(delay_seconds),
            )
        )

    def clear(self) -> None:
        """Disarm every rule (their hits stay readable) and forget the log of fired requests."""
        super().clear()
        with self._lock:
            self._fired.clear()

    def fired(self) -> list[S3FaultHit]:
        with self._lock:
            return list(self._fired)

    def match(self, request: S3Request) -> S3FaultRule | None:
        def log(rule: S3FaultRule) -> None:
            self._fired.append(
                S3FaultHit(
                    rule.id,
                    rule.code,
                    request.method,
                    request.bucket,
                    request.key,
                    request.operation,
                    request.part_number,
                )
            )

        return self._take_first(lambda rule: rule.matches(request), log)


# -- reading a request ----------------------------------------------------------------------------
def _signed_for_s3(environ: dict) -> bool:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth.startswith("AWS "):  # SigV2: only S3 still accepts it
        return True
    if auth.startswith("AWS4-"):
        scope = auth.split("Credential=", 1)[-1].split(",", 1)[0]
    else:  # presigned URL
        scope = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0]
    parts = scope.split("/")
    return len(parts) == 5 and parts[3] == "s3"


def operation_of(method: str, key: str, query: dict[str, list[str]], copy_source: bool = False) -> str | None:
    """The S3 API operation of a path-style request, or None for bucket subresources and the like."""
    query = {k: v for k, v in query.items() if not k.lower().startswith(("x-amz-", "response-"))}
    if not key:
        if set(query) - {"list-type", "encoding-type", "prefix", "delimiter", "max-keys", "marker"}:
            return None
        list_op = "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket", "GET": list_op}.get(
            method
        )
    if set(query) - _OBJECT_SUBRESOURCES:
        return None
    if "uploadId" in query:
        if method == "PUT" and "partNumber" in query:
            return "UploadPartCopy" if copy_source else "UploadPart"
        return {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(
            method
        )
    if "uploads" in query:
        return "CreateMultipartUpload" if method == "POST" else None
    if method == "PUT":
        return "CopyObject" if copy_source else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method)


def parse_request(environ: dict) -> S3Request | None:
    """The S3 request a WSGI environ carries, or None when it is not one (other services, moto-api)."""
    if not _signed_for_s3(environ):
        return None
    # WSGI decodes the path as latin-1; S3 keys are UTF-8.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return None
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    method = environ.get("REQUEST_METHOD", "GET").upper()
    part = (query.get("partNumber") or [""])[0]
    return S3Request(
        method=method,
        bucket=bucket,
        key=key,
        operation=operation_of(method, key, query, copy_source="HTTP_X_AMZ_COPY_SOURCE" in environ),
        part_number=int(part) if part.isdigit() else None,
    )


# -- answering ---------------------------------------------------------------------------------------
def error_body(code: str, request_id: str, host_id: str) -> bytes:
    message = ERRORS[code][1]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()


def _drain(environ: dict) -> None:
    """Read the request body, so the client gets the error and not a reset connection."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    if environ.get("wsgi.input_terminated"):
        while stream.read(1 << 20):
            pass
        return
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            return
        remaining -= len(chunk)


class S3FaultMiddleware:
    """WSGI middleware: ``S3FaultMiddleware(moto_app, faults)``."""

    def __init__(self, app, faults: S3Faults) -> None:
        self.app = app
        self.faults = faults

    def __call__(self, environ, start_response):
        request = parse_request(environ)
        rule = self.faults.match(request) if request is not None else None
        if rule is None:
            return self.app(environ, start_response)
        if rule.delay_seconds:
            time.sleep(rule.delay_seconds)
        if rule.code is None:
            return self.app(environ, start_response)
        _drain(environ)
        request_id = uuid.uuid4().hex[:16].upper()
        body = error_body(rule.code, request_id, uuid.uuid4().hex)
        headers = [
            ("Content-Type", "application/xml"),
            ("x-amz-request-id", request_id),
            ("x-amz-id-2", uuid.uuid4().hex),
            ("Server", "AmazonS3"),
        ]
        if request.method == "HEAD":  # S3 sends no body on HEAD; clients read the status
            start_response(ERRORS[rule.code][0], [*headers, ("Content-Length", "0")])
            return [b""]
        start_response(ERRORS[rule.code][0], [*headers, ("Content-Length", str(len(body)))])
        return [body]
