"""The table of served resource types: built-ins plus whatever the stored CRDs define."""

from __future__ import annotations

import re
import threading

from sandbox.kube.builtin import BUILTINS, ResourceType

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Sort key implementing Kubernetes' version priority (GA > beta > alpha, then by number)."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)  # non kube-like versions sort last, alphabetically
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, "")


class Registry:
    """Copy-on-write maps so readers never need the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._builtin_groups: list[str] = []
        for t in BUILTINS:
            self._types[(t.group, t.version, t.plural)] = t
            if t.group not in self._builtin_groups:
                self._builtin_groups.append(t.group)

    # -- mutation (CRDs) -------------------------------------------------------------------------
    def set_crd_types(self, crd_name: str, types: list[ResourceType]) -> None:
        with self._lock:
            new = {k: v for k, v in self._types.items() if v.crd_name != crd_name}
            for t in types:
                new[(t.group, t.version, t.plural)] = t
            self._types = new

    def remove_crd(self, crd_name: str) -> None:
        self.set_crd_types(crd_name, [])

    # -- lookups --------------------------------------------------------------------------------
    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def group_exists(self, group: str, version: str | None = None) -> bool:
        return any(g == group and (version is None or v == version) for (g, v, _) in self._types)

    def resolve(self, api_version: str, kind_or_plural: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        wanted = kind_or_plural.lower()
        for (g, v, _), t in self._types.items():
            if (
                g == group
                and v == version
                and wanted in (t.kind.lower(), t.plural, t.singular, *t.short_names)
            ):
                return t
        return None

    def storage_types(self) -> dict[tuple[str, str], ResourceType]:
        """One representative type per storage key (preferred version)."""
        out: dict[tuple[str, str], ResourceType] = {}
        for t in sorted(self._types.values(), key=lambda t: version_priority(t.version)):
            out.setdefault(t.storage_key, t)
        return out

    def groups(self) -> list[tuple[str, list[str]]]:
        """[(group, [versions by priority])], core group first, built-in groups, then CRD groups sorted."""
        versions: dict[str, set[str]] = {}
        for g, v, _ in self._types:
            versions.setdefault(g, set()).add(v)
        order = [g for g in self._builtin_groups if g in versions]
        order += sorted(g for g in versions if g not in self._builtin_groups)
        return [(g, sorted(versions[g], key=version_priority)) for g in order]

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return [t for (g, v, _), t in self._types.items() if g == group and v == version]
