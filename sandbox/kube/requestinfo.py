"""What a request asks to do, as kube-apiserver's ``RequestInfoFactory`` derives it from method and path.

Resource requests (``/api/v1/...``, ``/apis/<group>/<version>/...`` with at least a resource) get a verb
(GET on a collection: list, or watch with ``?watch=true`` or under ``/watch/``; GET on a name: get;
POST create, PUT update, PATCH patch, DELETE delete, DELETE on a collection: deletecollection), an API
group, resource, subresource, namespace and name (also taken from a ``metadata.name=`` field selector on
list/watch, as client-go's single-object watches use). Everything else (discovery, ``/version``,
``/openapi/...``, ``/healthz``) is a non-resource request whose verb is the lower-cased HTTP method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SPECIAL_VERBS = ("proxy", "watch")
NAMESPACE_SUBRESOURCES = ("status", "finalize")
METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class RequestInfo:
    path: str
    verb: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def full_resource(self) -> str:
        """``resource`` or ``resource/subresource`` (how RBAC rules name subresources)."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def describe(self) -> str:
        """``list trainingjobs.sagemaker.aws.amazon.com in default``, ``get /version`` ..."""
        if not self.resource_request:
            return f"{self.verb} {self.path}"
        what = f"{self.full_resource}.{self.api_group}" if self.api_group else self.full_resource
        if self.name:
            what += f" {self.name!r}"
        return f"{self.verb} {what}" + (f" in {self.namespace}" if self.namespace else "")


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "t", "true")


def _name_from_field_selector(selector: str | None) -> str:
    """The value of an exact ``metadata.name`` term (``=`` or ``==``), if the selector has one."""
    for term in (selector or "").split(","):
        for op in ("==", "="):
            field, sep, value = term.partition(op)
            if sep and field.strip() == "metadata.name":
                value = value.strip()
                return value if value and "/" not in value and value not in (".", "..") else ""
    return ""


def request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    method = method.upper()
    non_resource = RequestInfo(path=path, verb=method.lower())
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    if parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:
            return non_resource  # the apiserver answers 404 here; nothing to authorize as a resource
        verb, parts = parts[0], parts[1:]
    else:
        verb = METHOD_VERBS.get(method, "")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 and verb != "proxy" else ""
    if not name and verb == "get":
        verb = "watch" if _true(query.get("watch")) else "list"
        name = _name_from_field_selector(query.get("fieldSelector"))
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(path, verb, True, group, version, resource, subresource, namespace, name)
