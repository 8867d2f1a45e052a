"""Server-side printing: ``meta.k8s.io/v1 Table`` responses (what ``kubectl get`` asks for)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sandbox.kube.builtin import ResourceType
from sandbox.kube.meta import parse_time

NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "priority": 0,
    "description": "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name automatically. Name "
    "is primarily intended for creation idempotence and configuration definition. Cannot be updated.",
}
AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in accept.replace(" ", "")


def human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


_TOKEN = re.compile(r"\.([A-Za-z0-9_\-$/]+)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


def json_path(obj: Any, path: str) -> Any:
    """Evaluate a simple JSONPath (``.a.b[0]['c.d']``, optionally wrapped in ``{}``)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    node = obj
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            return None
        pos = m.end()
        if m.group(2) is not None:
            idx = int(m.group(2))
            node = node[idx] if isinstance(node, list) and idx < len(node) else None
        else:
            key = m.group(1) or m.group(3)
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def _pod_ready(o: dict) -> str:
    statuses = (o.get("status") or {}).get("containerStatuses") or []
    total = len(((o.get("spec") or {}).get("containers")) or statuses)
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _pod_status(o: dict) -> str:
    status = o.get("status") or {}
    if (o.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for c in status.get("containerStatuses") or []:
        waiting = (c.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return waiting["reason"]
    return status.get("reason") or status.get("phase") or "Unknown"


def _get(o: dict, path: str, default: Any = 0) -> Any:
    value = json_path(o, path)
    return default if value is None else value


# Built-in columns between Name and Age, as (name, type, function of the object); kubectl's defaults.
BUILTIN_COLUMNS: dict[str, list[tuple[str, str, Any]]] = {
    "Namespace": [("Status", "string", lambda o: _get(o, ".status.phase", ""))],
    "Pod": [
        ("Ready", "string", _pod_ready),
        ("Status", "string", _pod_status),
        (
            "Restarts",
            "string",
            lambda o: str(sum(c.get("restartCount", 0) for c in _get(o, ".status.containerStatuses", []))),
        ),
    ],
    "Deployment": [
        ("Ready", "string", lambda o: f"{_get(o, '.status.readyReplicas')}/{_get(o, '.spec.replicas', 1)}"),
        ("Up-to-date", "integer", lambda o: _get(o, ".status.updatedReplicas")),
        ("Available", "integer", lambda o: _get(o, ".status.availableReplicas")),
    ],
    "ReplicaSet": [
        ("Desired", "integer", lambda o: _get(o, ".spec.replicas", 1)),
        ("Current", "integer", lambda o: _get(o, ".status.replicas")),
        ("Ready", "integer", lambda o: _get(o, ".status.readyReplicas")),
    ],
    "ConfigMap": [("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "Secret": [
        ("Type", "string", lambda o: o.get("type", "Opaque")),
        ("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("stringData") or {})),
    ],
    "ServiceAccount": [("Secrets", "integer", lambda o: len(o.get("secrets") or []))],
    "Event": [
        ("Type", "string", lambda o: o.get("type", "")),
        ("Reason", "string", lambda o: o.get("reason", "")),
        (
            "Object",
            "string",
            lambda o: "/".join(
                filter(
                    None, [_get(o, ".involvedObject.kind", "").lower(), _get(o, ".involvedObject.name", "")]
                )
            ),
        ),
        ("Message", "string", lambda o: o.get("message", "")),
    ],
    "Service": [("Type", "string", lambda o: _get(o, ".spec.type", "ClusterIP"))],
}


def columns(rt: ResourceType) -> list[dict]:
    """Column specs: dicts with name, type and jsonPath (or fn), optional format/priority/description."""
    if rt.custom:
        return list(rt.printer_columns) or [AGE]
    if rt.kind == "CustomResourceDefinition":
        return [
            {
                "name": "Created At",
                "type": "date",
                "format": "date-time",
                "jsonPath": ".metadata.creationTimestamp",
                "raw": True,
            }
        ]
    extra = [{"name": n, "type": t, "fn": f} for n, t, f in BUILTIN_COLUMNS.get(rt.kind, [])]
    return [*extra, AGE]


def _cell(spec: dict, obj: dict, now: dt.datetime) -> Any:
    if "fn" in spec:
        return spec["fn"](obj)
    value = json_path(obj, spec.get("jsonPath", ""))
    if value is None:
        return None
    if spec.get("type") == "date" and not spec.get("raw"):
        when = parse_time(str(value))
        return human_duration((now - when).total_seconds()) if when else str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if spec.get("type") == "string" and not isinstance(value, str):
        return json.dumps(value)
    return value


def to_table(
    rt: ResourceType,
    objects: list[dict],
    resource_version: str | None = None,
    include_object: str | None = None,
    list_meta: dict | None = None,
) -> dict:
    specs = columns(rt)
    definitions = [dict(NAME_COLUMN)]
    for spec in specs:
        definitions.append(
            {
                "name": spec["name"],
                "type": "string" if spec.get("raw") else spec.get("type", "string"),
                "format": spec.get("format", ""),
                "description": spec.get("description", ""),
                "priority": int(spec.get("priority", 0)),
            }
        )
    now = dt.datetime.now(dt.UTC)
    rows = []
    for obj in objects:
        row: dict = {"cells": [obj["metadata"].get("name")] + [_cell(s, obj, now) for s in specs]}
        mode = (include_object or "Metadata").lower()
        if mode == "object":
            row["object"] = obj
        elif mode != "none":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    meta = dict(list_meta or {})
    if resource_version is not None:
        meta["resourceVersion"] = resource_version
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
