"""Retry policy for Kubernetes API calls: transient errors only, with backoff and Retry-After.

The provider's own ``generic_api_retry`` also retries 409, which would turn "AlreadyExists" on a
create into a loop; here only 429, 5xx, timeouts and connection errors are retried.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sagemaker_k8s.exceptions import KubeTransientError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped; ``Retry-After`` wins when the server sends one."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 20.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


def call_with_retry(fn: Callable[[], T], backoff: Backoff, what: str, sleep=time.sleep) -> T:
    """Run ``fn``; retry `KubeTransientError` up to ``backoff.attempts`` times in all."""
    for attempt in range(1, backoff.attempts + 1):
        try:
            return fn()
        except KubeTransientError as e:
            if attempt == backoff.attempts:
                raise
            wait = backoff.delay(attempt, e.retry_after)
            log.warning(
                "%s: transient Kubernetes API error (%s); retry %d/%d in %.1fs",
                what,
                e,
                attempt,
                backoff.attempts - 1,
                wait,
            )
            sleep(wait)
    raise AssertionError("unreachable")


async def acall_with_retry(fn, backoff: Backoff, what: str):
    """The async twin of `call_with_retry` (``fn`` returns an awaitable)."""
    import asyncio

    for attempt in range(1, backoff.attempts + 1):
        try:
            return await fn()
        except KubeTransientError as e:
            if attempt == backoff.attempts:
                raise
            wait = backoff.delay(attempt, e.retry_after)
            log.warning("%s: transient Kubernetes API error (%s); retry in %.1fs", what, e, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")
