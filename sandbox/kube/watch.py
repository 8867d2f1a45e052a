"""Watch fan-out: store events → per-watch asyncio queues in the server loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.kube.builtin import ResourceType
from sandbox.kube.deletion import served
from sandbox.kube.store import Event


@dataclass(eq=False)
class Watcher:
    rt: ResourceType
    namespace: str | None
    matches: Callable[[dict], bool]
    start_rv: int
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def translate(self, event: Event) -> tuple[str, dict] | None:
        """The (type, object) this watcher sees for ``event``, honouring selectors: an object that
        starts/stops matching appears as ADDED/DELETED, as the apiserver's watch cache does."""
        if event.key != self.rt.storage_key or (self.namespace and event.namespace != self.namespace):
            return None
        new_match = self.matches(event.obj)
        old_match = event.old is not None and self.matches(event.old)
        kind = event.type
        if kind == "MODIFIED":
            if new_match and not old_match:
                kind = "ADDED"
            elif old_match and not new_match:
                kind = "DELETED"
            elif not new_match:
                return None
        elif not new_match:
            return None
        return kind, served(self.rt, event.obj)

    def offer(self, event: Event) -> None:
        if event.type == "CLOSE":
            if event.key == self.rt.storage_key:
                self.queue.put_nowait(None)
            return
        if event.rv <= self.start_rv:
            return
        item = self.translate(event)
        if item is not None:
            self.queue.put_nowait((event.rv, *item))


class WatchHub:
    """Owned by the server loop; the store calls :meth:`listener` from any thread (with its lock held)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.watchers: set[Watcher] = set()

    def listener(self, event: Event) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed: the server stopped
            self.loop.call_soon_threadsafe(self._fanout, event)

    def _fanout(self, event: Event) -> None:
        for watcher in list(self.watchers):
            watcher.offer(event)

    def close_all(self) -> None:
        for watcher in list(self.watchers):
            watcher.queue.put_nowait(None)
