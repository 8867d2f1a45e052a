"""The rule bookkeeping shared by the Kubernetes and S3 fault registries."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from sandbox.faultrules import CountedRule, RuleRegistry


@dataclasses.dataclass
class Rule(CountedRule):
    label: str


class Registry(RuleRegistry[Rule]):
    def add(self, label: str, count: int | None = None) -> int:
        return self._register(lambda rule_id: Rule(id=rule_id, count=count, label=label))

    def match(self, label: str, seen: list | None = None) -> Rule | None:
        return self._take_first(lambda r: r.label == label, None if seen is None else seen.append)


def test_first_active_matching_rule_fires_in_insertion_order():
    registry = Registry()
    first, second, other = registry.add("a", count=1), registry.add("a"), registry.add("b")
    assert (first, second, other) == (1, 2, 3)
    seen: list = []
    assert registry.match("a", seen).id == first
    assert registry.match("a", seen).id == second  # the first is used up
    assert registry.match("a").id == second
    assert [r.id for r in seen] == [first, second]
    assert registry.match("c") is None
    assert (registry.hits(first), registry.hits(second), registry.hits(other)) == (1, 2, 0)
    assert [r.id for r in registry.rules] == [second, other]


@pytest.mark.parametrize("disarm", ["remove", "clear"])
def test_disarmed_rules_never_fire_again_and_keep_their_hits(disarm):
    registry = Registry()
    rule = registry.add("a")
    registry.match("a")
    registry.match("a")
    registry.remove(rule) if disarm == "remove" else registry.clear()
    assert registry.match("a") is None
    assert registry.hits(rule) == 2
    assert registry.rules == []
    (copy,) = registry.all_rules()
    assert (copy.id, copy.hits, copy.active) == (rule, 2, False)
    copy.hits = 99  # a copy: the registry's own rule is unchanged
    assert registry.hits(rule) == 2
    registry.remove(12345)  # unknown ids are ignored
    assert registry.hits(12345) == 0


def test_concurrent_requests_never_take_more_hits_than_count():
    registry = Registry()
    rule = registry.add("a", count=50)
    fired = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        for _ in range(100):
            if registry.match("a") is not None:
                fired.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fired) == registry.hits(rule) == 50
