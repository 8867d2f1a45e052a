"""Legacy (unaggregated) discovery documents: /version, /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>."""

from __future__ import annotations

from sandbox.kube.builtin import SUB_VERBS, ResourceType
from sandbox.kube.registry import Registry

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> dict:
    groups = [_group(g, vs) for g, vs in registry.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> dict | None:
    for g, vs in registry.groups():
        if g == name and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(g, vs)}
    return None


def _resource(t: ResourceType) -> dict:
    entry = {
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    return entry


def resource_list(registry: Registry, group_name: str, version: str) -> dict | None:
    types = sorted(registry.resources(group_name, version), key=lambda t: t.plural)
    if not types:
        return None
    resources = []
    for t in types:
        resources.append(_resource(t))
        if t.status_subresource:
            resources.append(
                {
                    "name": f"{t.plural}/status",
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": list(SUB_VERBS),
                }
            )
        if t.scale_subresource:
            resources.append(
                {
                    "name": f"{t.plural}/scale",
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": list(SUB_VERBS),
                }
            )
    gv = f"{group_name}/{version}" if group_name else version
    out = {"kind": "APIResourceList", "groupVersion": gv, "resources": resources}
    if group_name:
        out["apiVersion"] = "v1"
    return out
