"""The operator emulator's view of the Kubernetes API: the official client, over HTTP.

The emulator is a controller like the real one: it reads and writes custom resources through the
API server (the sandbox's emulator, or any real one), never through in-process shortcuts.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

LEGACY_GROUP = "sagemaker.aws.amazon.com"
LEGACY_VERSION = "v1"


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str


TRAINING_JOBS = Resource(LEGACY_GROUP, LEGACY_VERSION, "trainingjobs")
HOSTING_DEPLOYMENTS = Resource(LEGACY_GROUP, LEGACY_VERSION, "hostingdeployments")
MODELS = Resource(LEGACY_GROUP, LEGACY_VERSION, "models")
ENDPOINT_CONFIGS = Resource(LEGACY_GROUP, LEGACY_VERSION, "endpointconfigs")
HYPERPARAMETER_TUNING_JOBS = Resource(LEGACY_GROUP, LEGACY_VERSION, "hyperparametertuningjobs")
BATCH_TRANSFORM_JOBS = Resource(LEGACY_GROUP, LEGACY_VERSION, "batchtransformjobs")


class Gone(Exception):
    """The object disappeared (404) or changed under us (409); the next pass re-reads it."""


class Kube:
    """Custom-object and core calls the controller needs, with 404/409 folded into `Gone`."""

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

    def delete(self, res: Resource, namespace: str, name: str) -> None:
        with contextlib.suppress(Gone):
            self._call(self.custom.delete_namespaced_custom_object, res, namespace, name)

    @staticmethod
    def _call(method, res: Resource, *args):
        namespace_and_rest = args
        try:
            return method(res.group, res.version, namespace_and_rest[0], res.plural, *namespace_and_rest[1:])
        except ApiException as e:
            if e.status in (404, 409):
                raise Gone(f"{res.plural}: {e.status} {e.reason}") from e
            raise
