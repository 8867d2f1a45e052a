from __future__ import annotations

import pytest

from sagemaker_k8s.exceptions import KubeNotFound, KubeTransientError
from sagemaker_k8s.hooks.retry import Backoff, call_with_retry


def flaky(failures: list[Exception], result="ok"):
    calls = []

    def fn():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return fn, calls


def test_transient_errors_are_retried_honouring_retry_after():
    sleeps: list[float] = []
    fn, calls = flaky([KubeTransientError("503"), KubeTransientError("429", retry_after=2.0)])
    assert call_with_retry(fn, Backoff(attempts=5, base=0.1, cap=10), "get x", sleep=sleeps.append) == "ok"
    assert len(calls) == 3
    assert sleeps[1] == 2.0
    assert 0 <= sleeps[0] <= 0.1


def test_gives_up_after_attempts():
    fn, calls = flaky([KubeTransientError("503")] * 5)
    with pytest.raises(KubeTransientError):
        call_with_retry(fn, Backoff(attempts=3), "get x", sleep=lambda s: None)
    assert len(calls) == 3


def test_permanent_errors_are_not_retried():
    fn, calls = flaky([KubeNotFound("404")])
    with pytest.raises(KubeNotFound):
        call_with_retry(fn, Backoff(attempts=5), "get x", sleep=lambda s: None)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("attempt", "retry_after", "cap"), [(1, None, 0.5), (10, None, 20.0), (1, 100.0, 20.0)]
)
def test_backoff_is_capped(attempt, retry_after, cap):
    assert 0 <= Backoff(base=0.5, cap=20.0).delay(attempt, retry_after) <= cap
