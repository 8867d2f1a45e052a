"""Book-keeping for one background worker (a training job or an endpoint deployment)."""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """The simulator is shutting down or moto was reset: leave without touching (orphaned) state."""


class Run:
    def __init__(self, kind: str, account: str, region: str, name: str) -> None:
        self.kind, self.account, self.region, self.name = kind, account, region, name
        self.stop_event = threading.Event()
        self.cancel_event = threading.Event()
        self.wake = threading.Event()  # set on stop or cancel, so sleeps return at once
        self.cancel_reason: str | None = None
        self.thread: threading.Thread | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.account, self.region, self.name)

    @property
    def stop_requested(self) -> bool:
        return self.stop_event.is_set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def request_stop(self) -> None:
        self.stop_event.set()
        self.wake.set()

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancel_event.set()
        self.wake.set()

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()
