"""Explain how an existing custom resource's spec differs from the one this run wants.

Used to refuse reattaching to a CR whose spec differs: the legacy controllers never compare a
spec with SageMaker, so reattaching would silently track a job configured differently.
Only ``spec`` is compared; metadata and status belong to the server and the controller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Spec fields a controller fills in when the user leaves them empty (the legacy operator writes
#: generated names back into the spec). Ignored only when the desired manifest omits them.
CONTROLLER_FILLED_FIELDS = frozenset(
    {
        "spec.trainingJobName",
        "spec.hyperParameterTuningJobName",
        "spec.transformJobName",
    }
)
#: Keys that identify items of a list of objects, so such lists compare by key, not position.
LIST_KEYS = ("name", "key", "channelName", "variantName", "containerHostname")
_ABSENT = object()


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "<absent>"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` and ``"5"`` apart from ``5``; ``1 == 1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _list_key(existing: list[Any], desired: list[Any]) -> str | None:
    """The identifying key shared by every item of both lists (unique within each), if any."""
    items = existing + desired
    if not items or not all(isinstance(i, Mapping) for i in items):
        return None
    for key in LIST_KEYS:
        unique = all(len({i.get(key) for i in side}) == len(side) for side in (existing, desired))
        if unique and all(isinstance(i.get(key), str) for i in items):
            return key
    return None


def _strip_index(path: str) -> str:
    out, depth = [], 0
    for ch in path:
        depth += ch == "["
        if not depth:
            out.append(ch)
        depth -= ch == "]"
    return "".join(out)


class _Differ:
    def __init__(self, ignore: frozenset[str]) -> None:
        self.ignore = ignore
        self.found: list[str] = []

    def add(self, path: str, existing: Any, desired: Any) -> None:
        self.found.append(f"{path}: {_show(existing)} (existing) != {_show(desired)} (desired)")

    def walk(self, path: str, existing: Any, desired: Any) -> None:
        if _strip_index(path) in self.ignore:
            return
        if isinstance(existing, Mapping) and isinstance(desired, Mapping):
            for key in sorted(set(existing) | set(desired), key=str):
                sub = f"{path}.{key}"
                if key not in desired and sub in CONTROLLER_FILLED_FIELDS:
                    continue
                self.walk(sub, existing.get(key, _ABSENT), desired.get(key, _ABSENT))
        elif isinstance(existing, list) and isinstance(desired, list):
            self.walk_list(path, existing, desired)
        elif not _same(existing, desired):
            self.add(path, existing, desired)

    def walk_list(self, path: str, existing: list[Any], desired: list[Any]) -> None:
        key = _list_key(existing, desired)
        if key is None:
            for i in range(max(len(existing), len(desired))):
                self.walk(
                    f"{path}[{i}]",
                    existing[i] if i < len(existing) else _ABSENT,
                    desired[i] if i < len(desired) else _ABSENT,
                )
            return
        old = {i[key]: i for i in existing}
        new = {i[key]: i for i in desired}
        for name in sorted(set(old) | set(new)):
            a = _item_value(old.get(name, _ABSENT), key)
            b = _item_value(new.get(name, _ABSENT), key)
            if isinstance(a, Mapping) and isinstance(b, Mapping):
                self.walk(f"{path}[{name}]", a, b)
            elif not _same(a, b):
                self.add(f"{path}[{name}]", a, b)


def _item_value(item: Any, key: str) -> Any:
    """``{name: x, value: v}`` items compare as ``v``; richer items compare field by field."""
    if isinstance(item, Mapping) and set(item) <= {key, "value"}:
        return item.get("value", _ABSENT)
    return item


def spec_differences(
    existing: Mapping[str, Any], desired: Mapping[str, Any], *, ignore: Iterable[str] = ()
) -> list[str]:
    """Human-readable differences between the two objects' ``spec``, e.g.
    ``spec.resourceConfig.instanceType: 'ml.m4.xlarge' (existing) != 'ml.m5.large' (desired)``.

    Lists of ``{name, value}`` (hyperparameters, environment), tags and channels compare by their
    identifying key; ``ignore`` takes extra dotted paths (list indices/keys left out).
    """
    differ = _Differ(frozenset(ignore))
    existing_spec = existing.get("spec", _ABSENT) if isinstance(existing, Mapping) else _ABSENT
    desired_spec = desired.get("spec", _ABSENT) if isinstance(desired, Mapping) else _ABSENT
    differ.walk("spec", existing_spec, desired_spec)
    return differ.found
