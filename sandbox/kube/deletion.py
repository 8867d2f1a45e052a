"""Deletion semantics: finalizers and deletionTimestamp, namespace termination, CRD cleanup and
owner-reference garbage collection. Mixed into :class:`sandbox.kube.cluster.Cluster`.

Namespace deletion: the namespace turns Terminating (new content is refused with 403), every object in it
is deleted with the usual finalizer semantics, and the namespace disappears once it is empty (objects
held by finalizers keep it Terminating until their finalizers are removed). CRD deletion removes all its
objects at once, ignoring their finalizers, and ends watches on them. With propagationPolicy other than
Orphan, removing an object deletes the objects whose ownerReferences name its uid.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING

from sandbox.kube import crd as crds
from sandbox.kube import errors as E
from sandbox.kube.builtin import CRD_TYPE, NAMESPACE_TYPE, ResourceType
from sandbox.kube.errors import FieldError, KubeApiError
from sandbox.kube.meta import now

if TYPE_CHECKING:
    import threading

    from sandbox.kube.registry import Registry
    from sandbox.kube.store import Store

NS_KEY = NAMESPACE_TYPE.storage_key
CRD_KEY = CRD_TYPE.storage_key
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


def served(rt: ResourceType, obj: dict) -> dict:
    """The stored object as seen through ``rt``'s version (no conversion beyond apiVersion)."""
    out = dict(obj)
    out["apiVersion"] = rt.api_version
    out["kind"] = rt.kind
    return out


class DeletionMixin:
    store: Store
    lock: threading.RLock
    registry: Registry

    def _ns(self, rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "default") if rt.namespaced else ""

    # -- delete ---------------------------------------------------------------------------------------
    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: dict | None = None,
        dry_run: bool = False,
    ) -> dict:
        options = options or {}
        policy = options.get("propagationPolicy")
        if policy not in (None, "", "Orphan", "Background", "Foreground"):
            raise E.invalid(
                "",
                "DeleteOptions",
                "",
                [
                    FieldError(
                        "FieldValueNotSupported",
                        "propagationPolicy",
                        policy,
                        'supported values: "Foreground", "Background", "Orphan", "nil"',
                    )
                ],
            )
        with self.lock:
            namespace = self._ns(rt, namespace)
            old = self.store.get(rt.storage_key, namespace, name)
            if old is None:
                raise E.not_found(rt.group, rt.plural, name)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise E.conflict(
                    rt.group,
                    rt.plural,
                    name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, "
                    f"UID in object meta: {old['metadata']['uid']}",
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise E.conflict(
                    rt.group,
                    rt.plural,
                    name,
                    "Precondition failed: ResourceVersion in precondition: "
                    f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                    f"{old['metadata']['resourceVersion']}",
                )
            if rt.storage_key == NS_KEY and name in PROTECTED_NAMESPACES:
                raise E.forbidden("", "namespaces", name, "this namespace may not be deleted")
            if dry_run:
                return served(rt, old)
            result = self._delete(rt, old, orphan=policy == "Orphan")
        if result is None:  # removed at once
            if rt.return_deleted:
                return served(rt, old)
            return {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": name,
                    "group": rt.group,
                    "kind": rt.plural,
                    "uid": old["metadata"]["uid"],
                },
            }
        return served(rt, result)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        options: dict | None = None,
        dry_run: bool = False,
    ) -> dict:
        listing = self.list(rt, namespace, label_selector, field_selector)
        for item in listing["items"]:
            meta = item["metadata"]
            with contextlib.suppress(KubeApiError):  # gone meanwhile
                self.delete(rt, meta.get("namespace"), meta["name"], options, dry_run)
        return listing

    def _delete(self, rt: ResourceType, old: dict, orphan: bool = False) -> dict | None:
        """Start deleting ``old``: returns the updated object if it stays (finalizers), None if removed."""
        meta = old["metadata"]
        if meta.get("deletionTimestamp"):
            return old
        if meta.get("finalizers") or rt.storage_key == NS_KEY:
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if rt.has_generation and "generation" in meta:
                new["metadata"]["generation"] = meta["generation"] + 1
            if rt.storage_key == NS_KEY:
                new.setdefault("status", {})["phase"] = "Terminating"
            self.store.put(rt.storage_key, new, "MODIFIED", old)
            if rt.storage_key == NS_KEY:
                self._empty_namespace(meta["name"])
                self._finish_namespace(meta["name"])
            return new
        self._remove(rt, old, orphan)
        return None

    def _remove(self, rt: ResourceType, obj: dict, orphan: bool = False) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or ""
        self.store.remove(rt.storage_key, namespace, meta["name"])
        if rt.storage_key == CRD_KEY:
            self._purge_crd(obj)
        if not orphan:
            self._collect_garbage(meta["uid"])
        if namespace:
            self._finish_namespace(namespace)

    def _purge_crd(self, crd: dict) -> None:
        key = (crd["spec"]["group"], crds.names(crd)["plural"])
        touched = set()
        for item in self.store.list(key):
            touched.add(item["metadata"].get("namespace") or "")
            self.store.remove(key, item["metadata"].get("namespace") or "", item["metadata"]["name"])
        self.registry.remove_crd(crd["metadata"]["name"])
        self.store.close_watches(key)
        for namespace in touched - {""}:
            self._finish_namespace(namespace)

    def _collect_garbage(self, owner_uid: str) -> None:
        types = self.registry.storage_types()
        for key in self.store.keys():  # noqa: SIM118 - Store.keys() is a locked snapshot, not a dict
            rt = types.get(key)
            if rt is None:
                continue
            for item in self.store.list(key):
                refs = item["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == owner_uid for r in refs):
                    current = self.store.get(
                        key, item["metadata"].get("namespace") or "", item["metadata"]["name"]
                    )
                    if current is not None:
                        self._delete(rt, current)

    def _empty_namespace(self, namespace: str) -> None:
        types = self.registry.storage_types()
        for key in self.store.namespaces_in_use(namespace):
            rt = types.get(key)
            for item in self.store.list(key, namespace):
                if rt is not None:
                    self._delete(rt, item)

    def _finish_namespace(self, namespace: str) -> None:
        ns = self.store.get(NS_KEY, "", namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp") or ns["metadata"].get("finalizers"):
            return
        if not self.store.namespaces_in_use(namespace):
            self.store.remove(NS_KEY, "", namespace)
