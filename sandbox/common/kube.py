"""The emulated controllers' view of the Kubernetes API: the official client, over HTTP.

The emulators are controllers like the real ones: they read and write custom resources through the
API server (the sandbox's emulator, or any real one), never through in-process shortcuts.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


class Gone(Exception):
    """The object disappeared (404) or changed under us (409); the next pass re-reads it."""


class Kube:
    """Custom-object and core calls a controller needs, with 404/409 folded into `Gone`."""

    def __init__(self, server_url: str) -> None:
        config = client.Configuration(host=server_url)
        config.retries = 0
        self._api = client.ApiClient(config)
        self.custom = client.CustomObjectsApi(self._api)
        self.core = client.CoreV1Api(self._api)
        self.apps = client.AppsV1Api(self._api)

    def close(self) -> None:
        self._api.close()

    def list(
        self, res: Resource, namespace: str | None = None, labels: dict[str, str] | None = None
    ) -> list[dict]:
        selector = {"label_selector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else {}
        try:
            if namespace:
                body = self.custom.list_namespaced_custom_object(
                    res.group, res.version, namespace, res.plural, **selector
                )
            else:
                body = self.custom.list_cluster_custom_object(res.group, res.version, res.plural, **selector)
        except ApiException as e:
            if e.status == 404:  # CRD not installed: nothing to reconcile
                return []
            raise
        return body.get("items", [])

    def get(self, res: Resource, namespace: str, name: str) -> dict | None:
        """The object, or None if it does not exist."""
        try:
            return self._call(self.custom.get_namespaced_custom_object, res, namespace, name)
        except Gone:
            return None

    def create(self, res: Resource, namespace: str, body: dict) -> dict:
        return self._call(self.custom.create_namespaced_custom_object, res, namespace, body)

    def replace(self, res: Resource, obj: dict) -> dict:
        meta = obj["metadata"]
        return self._call(
            self.custom.replace_namespaced_custom_object, res, meta["namespace"], meta["name"], obj
        )

    def replace_status(self, res: Resource, obj: dict) -> dict:
        meta = obj["metadata"]
        return self._call(
            self.custom.replace_namespaced_custom_object_status, res, meta["namespace"], meta["name"], obj
        )

    def patch(self, res: Resource, namespace: str, name: str, body: dict) -> dict:
        """A JSON merge patch of the object (metadata and spec), as controller-runtime's MergeFrom sends."""
        return self._call(
            self.custom.patch_namespaced_custom_object, res, namespace, name, body,
            _content_type="application/merge-patch+json",
        )  # fmt: skip

    def delete(self, res: Resource, namespace: str, name: str) -> None:
        with contextlib.suppress(Gone):
            self._call(self.custom.delete_namespaced_custom_object, res, namespace, name)

    def namespace_annotations(self, name: str) -> dict[str, str]:
        """A Namespace's annotations ({} if it does not exist)."""
        try:
            ns = self.core.read_namespace(name)
        except ApiException as e:
            if e.status == 404:
                return {}
            raise
        return dict(ns.metadata.annotations or {})

    @staticmethod
    def _call(method, res: Resource, namespace: str, *args, **kwargs):
        try:
            return method(res.group, res.version, namespace, res.plural, *args, **kwargs)
        except ApiException as e:
            if e.status in (404, 409):
                raise Gone(f"{res.plural}: {e.status} {e.reason}") from e
            raise
