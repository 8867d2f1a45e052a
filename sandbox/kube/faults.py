"""Fault injection rules and the bounded request log."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.faultrules import CountedRule, RuleRegistry
from sandbox.kube.requestinfo import RequestInfo


@dataclass
class FaultRule(CountedRule):
    method: str | None
    path_regex: str
    status: int | None
    delay_seconds: float
    retry_after: int | None
    message: str | None = None
    delay_after_seconds: float = 0.0  # served, then the response is held: the write is already committed
    pattern: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.path_regex)


class Faults(RuleRegistry[FaultRule]):
    """Rules are checked in insertion order against ``METHOD`` and the request path (``re.search``).

    The first active matching rule fires: it waits ``delay_seconds`` and then, if ``status`` is set,
    answers a ``Status`` with that code instead of serving the request; otherwise it serves it and holds
    the response ``delay_after_seconds`` (a client that dies meanwhile never learns its write landed).
    ``count`` limits how many requests a rule fires for (None: forever). In-process calls
    (``srv.apply`` ...) are never faulted.
    """

    def add(
        self,
        method: str | None = None,
        path_regex: str = ".*",
        status: int | None = 503,
        count: int | None = None,
        delay_seconds: float = 0.0,
        retry_after: int | None = None,
        message: str | None = None,
        delay_after_seconds: float = 0.0,
    ) -> int:
        return self._register(
            lambda rule_id: FaultRule(
                id=rule_id,
                count=count,
                method=method.upper() if method else None,
                path_regex=path_regex,
                status=status,
                delay_seconds=float(delay_seconds),
                retry_after=retry_after,
                message=message,
                delay_after_seconds=float(delay_after_seconds),
            )
        )

    def match(self, method: str, path: str) -> FaultRule | None:
        method = method.upper()
        return self._take_first(
            lambda r: (not r.method or r.method == method) and bool(r.pattern.search(path))
        )


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    user_agent: str
    content_type: str
    status: int | None = None  # None while a response (e.g. a watch) is still streaming
    started: float = field(default_factory=time.time)
    fault: int | None = None  # id of the fault rule that fired, if any
    secure: bool = False  # arrived on the TLS port
    user: str | None = None  # the authenticated user (None: 401 Unauthorized)
    groups: tuple[str, ...] = ()
    attributes: RequestInfo | None = None  # verb, API group, resource, namespace, name (or path)
    allowed: bool | None = None  # the authorization decision (None: never authorized, e.g. 401)
    authz_reason: str = ""  # which binding allowed it, or why RBAC could not

    @property
    def verb(self) -> str:
        return self.attributes.verb if self.attributes else ""

    @property
    def watch(self) -> bool:
        return self.query.get("watch", "").lower() in ("1", "true", "t")


class RequestLog:
    def __init__(self, maxlen: int = 10000) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
