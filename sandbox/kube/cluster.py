"""API semantics shared by the HTTP layer and the in-process API: create/get/list/update/patch/delete,
status subresource, generation, finalizers, namespaces, CRD registration, validation and pruning."""

from __future__ import annotations

import base64
import copy
import json
import uuid

from sandbox.kube import crd as crds
from sandbox.kube import errors as E
from sandbox.kube import schema as S
from sandbox.kube.builtin import NAMESPACE_TYPE, ResourceType
from sandbox.kube.deletion import CRD_KEY, NS_KEY, DeletionMixin, served
from sandbox.kube.errors import FieldError, KubeApiError, go_value
from sandbox.kube.meta import generate_name, metadata_errors, now
from sandbox.kube.patch import JSON_PATCH, MERGE, STRATEGIC, PatchError, apply_patch
from sandbox.kube.registry import Registry
from sandbox.kube.selectors import SelectorError, field_matcher, label_matcher
from sandbox.kube.store import Store

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
GO_JSON_TYPES = {
    "integer": "number",
    "number": "number",
    "boolean": "bool",
    "array": "array",
    "string": "string",
}
SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


class Cluster(DeletionMixin):
    def __init__(self, history_size: int = 10000) -> None:
        self.store = Store(history_size)
        self.lock = self.store.lock
        self.registry = Registry()
        for name in DEFAULT_NAMESPACES:
            self.create(
                NAMESPACE_TYPE, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )

    # -- reads -------------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        obj = self.store.get(rt.storage_key, self._ns(rt, namespace), name)
        if obj is None:
            raise E.not_found(rt.group, rt.plural, name)
        return served(rt, obj)

    def field_allowed(self, rt: ResourceType):
        def allowed(field: str) -> bool:
            return (
                (not rt.custom)
                or field in ("metadata.name", "metadata.namespace")
                or (field in rt.selectable_fields)
            )

        return allowed

    def matchers(self, rt: ResourceType, label_selector: str | None, field_selector: str | None):
        try:
            return label_matcher(label_selector), field_matcher(field_selector, self.field_allowed(rt))
        except SelectorError as exc:
            raise E.bad_request(str(exc)) from exc

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
    ) -> dict:
        by_label, by_field = self.matchers(rt, label_selector, field_selector)
        with self.lock:
            items = [o for o in self.store.list(rt.storage_key, namespace) if by_label(o) and by_field(o)]
            rv = self.store.rv
        meta: dict = {"resourceVersion": str(rv)}
        if continue_:
            try:
                start = tuple(json.loads(base64.urlsafe_b64decode(continue_.encode()))["start"])
            except (ValueError, KeyError, TypeError) as exc:
                raise E.bad_request(f"continue key is not valid: {exc}") from exc
            items = [o for o in items if self._okey(o) > start]
        if limit and limit > 0 and len(items) > limit:
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"start": list(self._okey(items[limit - 1]))}).encode()
            ).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {
            "apiVersion": rt.api_version,
            "kind": rt.list_kind,
            "metadata": meta,
            "items": [served(rt, o) for o in items],
        }

    @staticmethod
    def _okey(obj: dict) -> tuple[str, str]:
        return (obj["metadata"].get("namespace") or "", obj["metadata"]["name"])

    # -- create ----------------------------------------------------------------------------------
    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: dict,
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[dict, list[str]]:
        obj = self._decode(rt, body)
        meta = obj["metadata"]
        if rt.namespaced:
            namespace = namespace or meta.get("namespace") or "default"
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise E.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        warnings = self._prune(rt, obj, field_validation)
        if meta.get("resourceVersion"):
            raise KubeApiError(
                500, "resourceVersion should not be set on objects to be created", "InternalError", {}
            )
        with self.lock:
            if rt.namespaced:
                self._check_namespace(rt, namespace, meta.get("name") or meta.get("generateName", ""))
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = generate_name(meta["generateName"])
                while self.store.get(rt.storage_key, namespace or "", meta["name"]) is not None:
                    meta["name"] = generate_name(meta["generateName"])
            for key in (*SYSTEM_META, "selfLink", "managedFields"):
                meta.pop(key, None)
            self._prepare_create(rt, obj)
            self._validate(rt, obj)
            if self.store.get(rt.storage_key, namespace or "", meta["name"]) is not None:
                raise E.already_exists(rt.group, rt.plural, meta["name"])
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            if rt.has_generation:
                meta["generation"] = 1
            if rt.storage_key == CRD_KEY:
                obj["status"] = crds.status(obj)
            if dry_run:
                return served(rt, obj), warnings
            self.store.put(rt.storage_key, obj, "ADDED")
            if rt.storage_key == CRD_KEY:
                self.registry.set_crd_types(meta["name"], crds.types(obj))
            return served(rt, obj), warnings

    @staticmethod
    def _normalize(rt: ResourceType, obj: dict) -> None:
        """Built-in defaulting done on every write: Secret stringData folds into data, type Opaque."""
        if rt.storage_key == ("", "secrets"):
            string_data = obj.pop("stringData", None) or {}
            if string_data:
                data = obj.setdefault("data", {})
                for key, value in string_data.items():
                    data[key] = base64.b64encode(str(value).encode()).decode()
            obj.setdefault("type", "Opaque")

    def _prepare_create(self, rt: ResourceType, obj: dict) -> None:
        self._normalize(rt, obj)
        if rt.storage_key == NS_KEY:
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"].get(
                "name", ""
            )
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        elif rt.status_subresource:
            obj.pop("status", None)
            if rt.kind == "Pod":
                obj["status"] = {"phase": "Pending"}

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get(NS_KEY, "", namespace)
        if ns is None:
            raise E.not_found("", "namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise E.forbidden(
                rt.group,
                rt.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    # -- update / patch ------------------------------------------------------------------------------
    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: dict,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[dict, list[str]]:
        if subresource not in (None, "status") or (subresource == "status" and not rt.status_subresource):
            raise E.not_found_generic()
        namespace = self._ns(rt, namespace)
        obj = self._decode(rt, body)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise E.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise E.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        warnings = self._prune(rt, obj, field_validation)
        with self.lock:
            old = self.store.get(rt.storage_key, namespace, name)
            if old is None:
                raise E.not_found(rt.group, rt.plural, name)
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and str(wanted_rv) != old["metadata"]["resourceVersion"]:
                raise E.conflict(rt.group, rt.plural, name, E.STALE)
            new = self._prepare_update(rt, old, obj, subresource)
            self._validate(rt, new, status_only=subresource == "status")
            self._check_finalizers(rt, old, new)
            if new == old:
                return served(rt, old), warnings
            if rt.has_generation and self._spec_changed(rt, old, new):
                new["metadata"]["generation"] = old["metadata"].get("generation", 0) + 1
            if dry_run:
                return served(rt, new), warnings
            self.store.put(rt.storage_key, new, "MODIFIED", old)
            if rt.storage_key == CRD_KEY:
                self.registry.set_crd_types(name, crds.types(new))
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                self._remove(rt, new)
            return served(rt, new), warnings

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        raw: bytes,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
    ) -> tuple[dict, list[str]]:
        patch_type = (patch_type or "").split(";")[0].strip().lower()
        accepted = [JSON_PATCH, MERGE] + ([] if rt.custom else [STRATEGIC])
        if patch_type not in accepted:  # includes server-side apply (application/apply-patch+yaml)
            raise E.unsupported_media_type(patch_type, accepted)
        with self.lock:
            old = self.store.get(rt.storage_key, self._ns(rt, namespace), name)
            if old is None:
                raise E.not_found(rt.group, rt.plural, name)
            try:
                patched = apply_patch(patch_type, served(rt, old), raw)
            except PatchError as exc:
                if exc.bad_request:
                    raise E.bad_request(str(exc)) from exc
                raise KubeApiError(422, str(exc), "Invalid", {}) from exc
            meta = patched.get("metadata")
            if isinstance(meta, dict) and meta.get("resourceVersion") == old["metadata"]["resourceVersion"]:
                meta.pop("resourceVersion")
            return self.update(rt, namespace, name, patched, subresource, dry_run, field_validation)

    def _prepare_update(self, rt: ResourceType, old: dict, obj: dict, subresource: str | None) -> dict:
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            return new
        new = obj
        self._normalize(rt, new)
        meta = new["metadata"]
        for key in SYSTEM_META:
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
            else:
                meta.pop(key, None)
        meta["name"] = old["metadata"]["name"]
        if old["metadata"].get("namespace"):
            meta["namespace"] = old["metadata"]["namespace"]
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        meta.pop("selfLink", None)
        meta.pop("managedFields", None)
        if rt.status_subresource:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if rt.storage_key == NS_KEY:
            new["spec"] = copy.deepcopy(old.get("spec", {}))
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        if rt.storage_key == CRD_KEY:
            new["status"] = crds.status(new, old.get("status"))
        return new

    def _spec_changed(self, rt: ResourceType, old: dict, new: dict) -> bool:
        skip = ("metadata", "status") if rt.status_subresource else ("metadata",)
        a = {k: v for k, v in old.items() if k not in skip}
        b = {k: v for k, v in new.items() if k not in skip}
        return a != b

    def _check_finalizers(self, rt: ResourceType, old: dict, new: dict) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        before = set(old["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            detail = (
                "no new finalizers can be added if the object is being deleted, found new finalizers "
                + go_value(added)
            )
            raise E.invalid(
                rt.group,
                rt.kind,
                old["metadata"]["name"],
                [FieldError("FieldValueForbidden", "metadata.finalizers", detail=detail)],
            )

    # -- helpers ------------------------------------------------------------------------------------
    def _decode(self, rt: ResourceType, body: object) -> dict:
        if not isinstance(body, dict):
            raise E.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                "json: cannot unmarshal into Go value of type map[string]interface {}"
            )
        obj = copy.deepcopy(body)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if rt.custom and not kind:
            raise E.bad_request(f"Object 'Kind' is missing in '{json.dumps(body, separators=(',', ':'))}'")
        if api_version and api_version != rt.api_version:
            raise E.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise E.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if obj.get("metadata") is None:
            obj["metadata"] = {}
        if not isinstance(obj["metadata"], dict):
            raise E.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                "metadata must be an object"
            )
        for field in ("labels", "annotations"):
            values = obj["metadata"].get(field)
            if values is None:
                continue
            offenders = (
                [v for v in values.values() if not isinstance(v, str)]
                if isinstance(values, dict)
                else [values]
            )
            if offenders:
                go_type = GO_JSON_TYPES.get(S.type_name(offenders[0]), "object")
                raise E.bad_request(
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: cannot '
                    f"unmarshal {go_type} into Go struct field ObjectMeta.metadata.{field} of type string"
                )
        return obj

    def _prune(self, rt: ResourceType, obj: dict, mode: str) -> list[str]:
        mode = (mode or "Warn").capitalize()
        if mode not in ("Ignore", "Warn", "Strict"):
            raise E.bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{mode}"')
        if rt.custom and rt.schema:
            unknown = S.prune(rt.schema, obj)
            S.default(rt.schema, obj)
        else:
            unknown = S.prune({"x-kubernetes-preserve-unknown-fields": True}, obj)
        if not unknown or mode == "Ignore":
            return []
        texts = [f'unknown field "{u}"' for u in unknown]
        if mode == "Strict":
            raise E.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {', '.join(texts)}"
            )
        return texts

    def _validate(self, rt: ResourceType, obj: dict, status_only: bool = False) -> None:
        meta = obj["metadata"]
        errors = [] if status_only else metadata_errors(meta, rt.name_rule, rt.namespaced)
        if rt.custom and rt.schema:
            target = rt.schema
            if status_only:
                props = rt.schema.get("properties") or {}
                target = {"type": "object", "properties": {k: v for k, v in props.items() if k == "status"}}
                if "status" not in props:
                    target["x-kubernetes-preserve-unknown-fields"] = True
            errors += S.validate(target, obj)
        elif rt.storage_key == CRD_KEY and not status_only:
            errors += crds.validate(obj)
        if errors:
            raise E.invalid(rt.group, rt.kind, meta.get("name") or meta.get("generateName", ""), errors)
