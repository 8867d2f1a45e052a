"""Kubernetes access for the pipeline: the cncf-kubernetes provider's hooks, typed errors, retries.

`SageMakerK8sHook` resolves its connection (``kubernetes_conn_id``: a kubeconfig path, an inline
kubeconfig or in-cluster config, exactly as the provider documents) through the provider's
`KubernetesHook` and is the only synchronous code that talks to the API server. `AsyncSageMakerK8sHook`
does the same for triggers through `AsyncKubernetesHook`. The clients come from ``client_cache``: one
per hook (sync) or one per kubeconfig and event loop shared by all triggers (async), with exec-plugin
tokens minted once per token lifetime and refreshed on a 401. Every HTTP error becomes a typed
exception from ``sagemaker_k8s.exceptions``; 429/5xx/timeouts are retried with backoff.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from sagemaker_k8s.exceptions import KubeNotFound, KubeTransientError, kube_error_from_status
from sagemaker_k8s.hooks.client_cache import (
    SharedClient,
    SyncClient,
    async_settings,
    shared_client,
    sync_settings,
)
from sagemaker_k8s.hooks.retry import Backoff, acall_with_retry, call_with_retry
from sagemaker_k8s.manifests.flavours import ResourceKind

DEFAULT_CONN_ID = "kubernetes_default"


def _retry_after(headers) -> float | None:
    value = (headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _translate(exc: BaseException) -> BaseException:
    """Map client exceptions (sync or async) to the package's typed errors."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "body"):
        return kube_error_from_status(status, exc.body, _retry_after(getattr(exc, "headers", None)))
    return KubeTransientError(f"Kubernetes API unreachable: {type(exc).__name__}: {exc}")


def _transport_errors() -> tuple[type[BaseException], ...]:
    import aiohttp
    import urllib3.exceptions
    from kubernetes.client.exceptions import ApiException
    from kubernetes_asyncio.client.exceptions import ApiException as AsyncApiException

    return (
        ApiException,
        AsyncApiException,
        urllib3.exceptions.HTTPError,
        aiohttp.ClientError,
        TimeoutError,
        ConnectionError,
    )


class SageMakerK8sHook:
    """Custom resources, CRDs, service accounts, deployments and pods: what the pipeline touches."""

    def __init__(self, kubernetes_conn_id: str = DEFAULT_CONN_ID, backoff: Backoff | None = None) -> None:
        self.kubernetes_conn_id = kubernetes_conn_id
        self.backoff = backoff or Backoff()

    @cached_property
    def provider_hook(self):
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        return KubernetesHook(conn_id=self.kubernetes_conn_id)

    @cached_property
    def client(self) -> SyncClient:
        """This hook's client; its exec-plugin token is the process's (see ``client_cache``)."""
        return SyncClient(sync_settings(self.provider_hook))

    @property
    def api_client(self):
        return self.client.api_client

    @cached_property
    def custom_object_client(self):
        from kubernetes import client

        return client.CustomObjectsApi(self.api_client)

    @cached_property
    def core_v1_client(self):
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @cached_property
    def apps_v1_client(self):
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    def _call(self, what: str, fn, *args, **kwargs) -> Any:
        errors = _transport_errors()

        def once():
            try:
                return self.client.call(fn, *args, **kwargs)
            except errors as e:
                raise _translate(e) from e

        return call_with_retry(once, self.backoff, what)

    # -- custom resources -----------------------------------------------------------------------
    def get(self, kind: ResourceKind, name: str, namespace: str) -> dict:
        api = self.custom_object_client
        return self._call(
            f"get {kind.plural}/{name}",
            api.get_namespaced_custom_object,
            kind.group,
            kind.version,
            namespace,
            kind.plural,
            name,
        )

    def find(self, kind: ResourceKind, name: str, namespace: str) -> dict | None:
        try:
            return self.get(kind, name, namespace)
        except KubeNotFound:
            return None

    def create(self, kind: ResourceKind, body: dict, namespace: str) -> dict:
        api = self.custom_object_client
        return self._call(
            f"create {kind.plural}/{body['metadata']['name']}",
            api.create_namespaced_custom_object,
            kind.group,
            kind.version,
            namespace,
            kind.plural,
            body,
        )

    def patch(self, kind: ResourceKind, name: str, namespace: str, patch: dict) -> dict:
        """JSON merge patch (RFC 7386): lists are replaced whole, ``None`` removes a key."""
        api = self.custom_object_client
        return self._call(
            f"patch {kind.plural}/{name}",
            api.patch_namespaced_custom_object,
            kind.group,
            kind.version,
            namespace,
            kind.plural,
            name,
            patch,
        )

    def list(self, kind: ResourceKind, namespace: str, label_selector: str = "") -> list[dict]:
        api = self.custom_object_client
        listing = self._call(
            f"list {kind.plural}",
            api.list_namespaced_custom_object,
            kind.group,
            kind.version,
            namespace,
            kind.plural,
            label_selector=label_selector,
        )
        return list(listing.get("items") or [])

    def delete(self, kind: ResourceKind, name: str, namespace: str) -> bool:
        """Delete (the controller's finalizer then stops the job); False if it was already gone."""
        api = self.custom_object_client
        try:
            self._call(
                f"delete {kind.plural}/{name}",
                api.delete_namespaced_custom_object,
                kind.group,
                kind.version,
                namespace,
                kind.plural,
                name,
            )
        except KubeNotFound:
            return False
        return True

    # -- cluster facts for the preflight ---------------------------------------------------------------
    def crd_names(self) -> set[str]:
        from kubernetes import client

        api = client.ApiextensionsV1Api(self.api_client)
        listing = self._call("list customresourcedefinitions", api.list_custom_resource_definition)
        return {item.metadata.name for item in listing.items}

    def service_account(self, namespace: str, name: str) -> dict | None:
        api = self.core_v1_client
        try:
            sa = self._call(
                f"get serviceaccount {namespace}/{name}", api.read_namespaced_service_account, name, namespace
            )
        except KubeNotFound:
            return None
        return self.api_client.sanitize_for_serialization(sa)

    def pods(self, namespace: str, label_selector: str) -> list[dict]:
        api = self.core_v1_client
        try:
            listing = self._call(
                f"list pods in {namespace}", api.list_namespaced_pod, namespace, label_selector=label_selector
            )
        except KubeNotFound:
            return []
        serialize = self.api_client.sanitize_for_serialization
        return [serialize(pod) for pod in listing.items]

    def namespace(self, name: str) -> dict | None:
        """The Namespace object (its annotations configure the ACK controller); None if absent."""
        api = self.core_v1_client
        try:
            obj = self._call(f"get namespace {name}", api.read_namespace, name)
        except KubeNotFound:
            return None
        return self.api_client.sanitize_for_serialization(obj)

    def deployment(self, namespace: str, name: str) -> dict | None:
        api = self.apps_v1_client
        try:
            obj = self._call(
                f"get deployment {namespace}/{name}", api.read_namespaced_deployment, name, namespace
            )
        except KubeNotFound:
            return None
        return self.api_client.sanitize_for_serialization(obj)


class AsyncSageMakerK8sHook:
    """Reads custom resources from triggers: the connection is resolved by the provider's
    `AsyncKubernetesHook`, the client is the event loop's shared one for that configuration."""

    def __init__(self, kubernetes_conn_id: str = DEFAULT_CONN_ID, backoff: Backoff | None = None) -> None:
        self.kubernetes_conn_id = kubernetes_conn_id
        self.backoff = backoff or Backoff()
        self._settings = None

    @cached_property
    def provider_hook(self):
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook

        return AsyncKubernetesHook(conn_id=self.kubernetes_conn_id)

    async def client(self) -> SharedClient:
        """The running loop's shared client for this hook's connection (resolved once per hook)."""
        if self._settings is None:
            self._settings = await async_settings(self.provider_hook)
        return await shared_client(self._settings)

    async def _call(self, what: str, method: str, *args) -> Any:
        """``CustomObjectsApi.<method>(*args)`` on the shared client, errors typed, retried with backoff."""
        from kubernetes_asyncio import client

        errors = _transport_errors()

        def request(api_client):
            return getattr(client.CustomObjectsApi(api_client), method)(*args)

        async def once():
            try:
                return await (await self.client()).call(request)
            except errors as e:
                raise _translate(e) from e

        return await acall_with_retry(once, self.backoff, what)

    async def get(self, kind: ResourceKind, name: str, namespace: str) -> dict:
        return await self._call(
            f"get {kind.plural}/{name}",
            "get_namespaced_custom_object",
            kind.group,
            kind.version,
            namespace,
            kind.plural,
            name,
        )

    async def delete(self, kind: ResourceKind, name: str, namespace: str) -> bool:
        """Delete (the controller's finalizer then stops the job); False if it was already gone."""
        try:
            await self._call(
                f"delete {kind.plural}/{name}",
                "delete_namespaced_custom_object",
                kind.group,
                kind.version,
                namespace,
                kind.plural,
                name,
            )
        except KubeNotFound:
            return False
        return True
