"""Fault injection rules and the bounded request log."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.kube.requestinfo import RequestInfo


@dataclass
class FaultRule:
    id: int
    method: str | None
    path_regex: str
    status: int | None
    count: int | None
    delay_seconds: float
    retry_after: int | None
    message: str | None = None
    delay_after_seconds: float = 0.0  # served, then the response is held: the write is already committed
    hits: int = 0
    pattern: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.path_regex)

    @property
    def active(self) -> bool:
        return self.count is None or self.hits < self.count


class Faults:
    """Rules are checked in insertion order against ``METHOD`` and the request path (``re.search``).

    The first active matching rule fires: it waits ``delay_seconds`` and then, if ``status`` is set,
    answers a ``Status`` with that code instead of serving the request; otherwise it serves it and holds
    the response ``delay_after_seconds`` (a client that dies meanwhile never learns its write landed).
    ``count`` limits how many requests a rule fires for (None: forever). In-process calls
    (``srv.apply`` ...) are never faulted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[int, FaultRule] = {}
        self._ids = itertools.count(1)

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
        rule = FaultRule(
            next(self._ids),
            method.upper() if method else None,
            path_regex,
            status,
            count,
            float(delay_seconds),
            retry_after,
            message,
            float(delay_after_seconds),
        )
        with self._lock:
            self._rules[rule.id] = rule
        return rule.id

    def remove(self, rule_id: int) -> None:
        with self._lock:
            rule = self._rules.get(rule_id)
            if rule is not None:
                rule.count = rule.hits  # keep hits() readable, never fire again

    def clear(self) -> None:
        with self._lock:
            for rule in self._rules.values():
                rule.count = rule.hits

    def hits(self, rule_id: int) -> int:
        with self._lock:
            rule = self._rules.get(rule_id)
            return rule.hits if rule else 0

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [r for r in self._rules.values() if r.active]

    def match(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules.values():
                if not rule.active or (rule.method and rule.method != method.upper()):
                    continue
                if rule.pattern.search(path):
                    rule.hits += 1
                    return rule
        return None


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
