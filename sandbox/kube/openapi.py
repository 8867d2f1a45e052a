"""Just enough OpenAPI v3 for kubectl: per group-version documents whose PATCH operations carry
``x-kubernetes-group-version-kind`` and the ``fieldValidation`` parameter (so kubectl relies on server-side
field validation, sending ``fieldValidation=Strict``) and list JSON/merge patch media types. Schemas are the
CRDs' openAPIV3Schema (built-ins: free-form). ``/openapi/v2`` (protobuf-only in kubectl) answers 404,
which kubectl tolerates (it then computes patches from its compiled-in types or as JSON merge patches)."""

from __future__ import annotations

import hashlib
import json

from sandbox.kube import errors as E
from sandbox.kube.builtin import ResourceType
from sandbox.kube.registry import Registry

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json")
QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(rt: ResourceType) -> str:
    group = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{group}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> dict:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _operation(rt: ResourceType, verb: str, media: tuple[str, ...] = ()) -> dict:
    ref = {"$ref": f"#/components/schemas/{_schema_name(rt)}"}
    op: dict = {
        "operationId": f"{verb}{rt.kind}",
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": _gvk(rt),
        "parameters": [
            {"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for p in QUERY_PARAMS
        ],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}},
    }
    if media:
        op["requestBody"] = {"content": {m: {"schema": {"type": "object"}} for m in media}, "required": True}
    return op


def _schema(rt: ResourceType) -> dict:
    if rt.custom and rt.schema:
        schema = json.loads(json.dumps(rt.schema))
    else:
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema["x-kubernetes-group-version-kind"] = [_gvk(rt)]
    return schema


def gv_document(registry: Registry, group: str, version: str) -> dict | None:
    types = registry.resources(group, version)
    if not types:
        return None
    paths: dict = {}
    schemas: dict = {}
    for rt in sorted(types, key=lambda t: t.plural):
        prefix = f"/{_gv_key(group, version)}"
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        # strategic merge is accepted for built-ins but not advertised: without real schemas here, kubectl
        # would fail to compute it from this document; unadvertised, it uses its compiled-in types instead
        media = PATCH_TYPES
        paths[base] = {"get": _operation(rt, "list"), "post": _operation(rt, "post", ("application/json",))}
        paths[f"{base}/{{name}}"] = {
            "get": _operation(rt, "get"),
            "put": _operation(rt, "put", ("application/json",)),
            "patch": _operation(rt, "patch", media),
            "delete": _operation(rt, "delete"),
        }
        if rt.status_subresource:
            paths[f"{base}/{{name}}/status"] = {
                "get": _operation(rt, "get"),
                "put": _operation(rt, "put", ("application/json",)),
                "patch": _operation(rt, "patch", media),
            }
        schemas[_schema_name(rt)] = _schema(rt)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def document(registry: Registry, path: str, query) -> dict:
    if path == "/openapi/v3":
        out = {}
        for group, versions in registry.groups():
            for version in versions:
                doc = gv_document(registry, group, version)
                digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
                key = _gv_key(group, version)
                out[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
        return {"paths": out}
    if path.startswith("/openapi/v3/"):
        rest = path[len("/openapi/v3/") :].split("/")
        if rest[0] == "api" and len(rest) == 2:
            doc = gv_document(registry, "", rest[1])
        elif rest[0] == "apis" and len(rest) == 3:
            doc = gv_document(registry, rest[1], rest[2])
        else:
            doc = None
        if doc is not None:
            return doc
    raise E.not_found_generic()
