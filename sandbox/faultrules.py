"""The bookkeeping every fault-injection registry in the sandbox shares (Kubernetes, S3).

A rule fires at most ``count`` times (None: forever) and counts its ``hits``; the registry keeps
rules in insertion order, gives them ids, and checks them under one lock so that concurrent
requests never both take a rule's last hit. Disarming (``remove``/``clear``) keeps the rule and its
hits readable. What a rule matches on, and what firing does, belongs to each registry.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar


@dataclasses.dataclass(kw_only=True)
class CountedRule:
    id: int
    count: int | None
    hits: int = 0

    @property
    def active(self) -> bool:
        return self.count is None or self.hits < self.count


R = TypeVar("R", bound=CountedRule)


class RuleRegistry(Generic[R]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[int, R] = {}
        self._ids = itertools.count(1)

    def _register(self, make: Callable[[int], R]) -> int:
        """Store the rule ``make(new_id)`` returns; returns its id."""
        with self._lock:
            rule = make(next(self._ids))
            self._rules[rule.id] = rule
        return rule.id

    def _take_first(
        self, matches: Callable[[R], bool], on_hit: Callable[[R], None] | None = None
    ) -> R | None:
        """The first active rule ``matches`` accepts, with one hit taken (and ``on_hit`` run) under the
        lock; None if no rule fires."""
        with self._lock:
            for rule in self._rules.values():
                if rule.active and matches(rule):
                    rule.hits += 1
                    if on_hit is not None:
                        on_hit(rule)
                    return rule
        return None

    def remove(self, rule_id: int) -> None:
        """Disarm one rule; its hits stay readable."""
        with self._lock:
            rule = self._rules.get(rule_id)
            if rule is not None:
                rule.count = rule.hits

    def clear(self) -> None:
        """Disarm every rule; their hits stay readable."""
        with self._lock:
            for rule in self._rules.values():
                rule.count = rule.hits

    def hits(self, rule_id: int) -> int:
        with self._lock:
            rule = self._rules.get(rule_id)
            return rule.hits if rule else 0

    @property
    def rules(self) -> list[R]:
        """The active rules, in insertion order."""
        with self._lock:
            return [r for r in self._rules.values() if r.active]

    def all_rules(self) -> list[R]:
        """Copies of every rule armed so far, exhausted and disarmed ones included (for their hits)."""
        with self._lock:
            return [dataclasses.replace(r) for r in self._rules.values()]
