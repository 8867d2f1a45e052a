"""In-memory object store: a global resourceVersion counter, bounded event history, listeners.

Objects are keyed by storage key ``(group, plural)`` then ``(namespace, name)`` (namespace "" for
cluster-scoped kinds). Stored dicts are never mutated after being put, so readers may hold them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Key = tuple[str, str]


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED | CLOSE (CLOSE: internal, ends watches on ``key``)
    key: Key
    namespace: str
    obj: dict
    old: dict | None = None


class Store:
    def __init__(self, history_size: int = 1000) -> None:
        self.lock = threading.RLock()
        self._rv = 0
        self._data: dict[Key, dict[tuple[str, str], dict]] = {}
        self._history: deque[Event] = deque()
        self._history_size = max(1, history_size)
        self.compacted_rv = 0  # highest resourceVersion no longer in the history
        self._listeners: list[Callable[[Event], None]] = []

    # -- reads ---------------------------------------------------------------------------------
    @property
    def rv(self) -> int:
        return self._rv

    def get(self, key: Key, namespace: str, name: str) -> dict | None:
        return self._data.get(key, {}).get((namespace or "", name))

    def list(self, key: Key, namespace: str | None = None) -> list[dict]:
        with self.lock:
            bucket = self._data.get(key, {})
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            return [bucket[k] for k in keys]

    def namespaces_in_use(self, namespace: str) -> list[Key]:
        with self.lock:
            return [key for key, bucket in self._data.items() if any(k[0] == namespace for k in bucket)]

    def keys(self) -> list[Key]:
        with self.lock:
            return list(self._data)

    def events_after(self, rv: int, key: Key | None = None) -> list[Event] | None:
        """Events with resourceVersion > rv, or None when rv is older than the history window."""
        with self.lock:
            if rv < self.compacted_rv:
                return None
            return [e for e in self._history if e.rv > rv and (key is None or e.key == key)]

    # -- writes (callers hold ``lock`` across read-modify-write) ----------------------------------
    def next_rv(self) -> int:
        with self.lock:
            self._rv += 1
            return self._rv

    def put(self, key: Key, obj: dict, event_type: str, old: dict | None = None) -> dict:
        """Store ``obj`` (its metadata.resourceVersion is set here) and record the event."""
        with self.lock:
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            meta = obj["metadata"]
            self._data.setdefault(key, {})[(meta.get("namespace") or "", meta["name"])] = obj
            self._record(Event(rv, event_type, key, meta.get("namespace") or "", obj, old))
            return obj

    def remove(self, key: Key, namespace: str, name: str) -> dict | None:
        with self.lock:
            bucket = self._data.get(key, {})
            old = bucket.pop((namespace or "", name), None)
            if old is None:
                return None
            rv = self.next_rv()
            gone = dict(old)
            gone["metadata"] = dict(old["metadata"], resourceVersion=str(rv))
            self._record(Event(rv, "DELETED", key, namespace or "", gone, old))
            return gone

    def close_watches(self, key: Key) -> None:
        with self.lock:
            self._notify(Event(self._rv, "CLOSE", key, "", {}))

    def _record(self, event: Event) -> None:
        self._history.append(event)
        while len(self._history) > self._history_size:
            self.compacted_rv = self._history.popleft().rv
        self._notify(event)

    def _notify(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    # -- listeners -----------------------------------------------------------------------------
    def add_listener(self, fn: Callable[[Event], None]) -> None:
        with self.lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[Event], None]) -> None:
        with self.lock:
            if fn in self._listeners:
                self._listeners.remove(fn)
