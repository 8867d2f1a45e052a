"""The control loop both emulated controllers run: one thread, one pass over every watched CR every
``poll_interval`` seconds, and ``settle()`` for callers that must know a pass saw their change.

A pass never kills the loop (a controller logs and carries on); ``passes`` counts completed passes so
tests can wait for "one more pass" instead of sleeping.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class ControllerLoop:
    """Subclasses implement ``reconcile_all()`` (one pass) and may override ``close()``."""

    thread_name = "sandbox-controller"

    def __init__(self, poll_interval: float = 0.25) -> None:
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0  # completed loop iterations, for tests that wait for "one more pass"
        self._passed = threading.Condition()

    def reconcile_all(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release clients once the thread has ended."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def settle(self, timeout: float = 10.0) -> None:
        """Return once a whole pass has run after this call, so it saw every change made before it.

        A pass already under way may have read the controller's pod state before the change; waiting
        for two more completed passes guarantees one started afterwards.
        """
        if self._thread is None:
            return
        with self._passed:
            target = self.passes + 2
            if not self._passed.wait_for(lambda: self.passes >= target, timeout):
                raise TimeoutError(f"{self.thread_name} did not complete a pass within {timeout}s")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile_all()
            except Exception:  # a controller never dies on one bad pass
                log.exception("%s pass failed", self.thread_name)
            with self._passed:
                self.passes += 1
                self._passed.notify_all()
            self._stop.wait(self.poll_interval)
