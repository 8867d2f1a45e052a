"""The ``/scale`` subresource (autoscaling/v1 Scale) of Deployments, ReplicaSets and StatefulSets."""

from __future__ import annotations

import copy

from sandbox.kube import errors as E
from sandbox.kube.builtin import ResourceType
from sandbox.kube.cluster import Cluster
from sandbox.kube.errors import FieldError, KubeApiError
from sandbox.kube.patch import JSON_PATCH, MERGE, STRATEGIC, PatchError, apply_patch


def to_scale(obj: dict) -> dict:
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def get_scale(cluster: Cluster, rt: ResourceType, namespace: str | None, name: str) -> dict:
    return to_scale(cluster.get(rt, namespace, name))


def update_scale(
    cluster: Cluster, rt: ResourceType, namespace: str | None, name: str, body: object, dry_run: bool = False
) -> dict:
    if not isinstance(body, dict):
        raise E.bad_request('Scale in version "v1" cannot be handled as a Scale: not an object')
    replicas = (body.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise E.invalid(
            "autoscaling",
            "Scale",
            name,
            [
                FieldError(
                    "FieldValueInvalid", "spec.replicas", replicas, "must be greater than or equal to 0"
                )
            ],
        )
    with cluster.lock:
        current = cluster.get(rt, namespace, name)
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise E.conflict(rt.group, rt.plural, name, E.STALE)
        new = copy.deepcopy(current)
        new.setdefault("spec", {})["replicas"] = replicas
        new["metadata"].pop("resourceVersion", None)
        result, _ = cluster.update(rt, namespace, name, new, None, dry_run)
    return to_scale(result)


def patch_scale(
    cluster: Cluster,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    patch_type: str,
    raw: bytes,
    dry_run: bool = False,
) -> dict:
    patch_type = (patch_type or "").split(";")[0].strip().lower()
    if patch_type not in (JSON_PATCH, MERGE, STRATEGIC):
        raise E.unsupported_media_type(patch_type, [JSON_PATCH, MERGE, STRATEGIC])
    with cluster.lock:
        scale = get_scale(cluster, rt, namespace, name)
        try:
            patched = apply_patch(patch_type, scale, raw)
        except PatchError as exc:
            if exc.bad_request:
                raise E.bad_request(str(exc)) from exc
            raise KubeApiError(422, str(exc), "Invalid", {}) from exc
        return update_scale(cluster, rt, namespace, name, patched, dry_run)
