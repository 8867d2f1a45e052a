"""Kubernetes API clients that outlive a call: one per kubeconfig and event loop (async), per hook (sync).

The provider's ``AsyncKubernetesHook.get_conn()`` builds a new ``kubernetes_asyncio`` client, with a new
connection pool and TLS handshake, on every call, and reloads an exec kubeconfig (running its plugin)
each time. Here:

* **What is cached.** ``shared_client(settings)``: one `SharedClient` (an ``ApiClient`` and its aiohttp
  connection pool) per `KubeSettings` per running event loop, shared by every trigger of that loop. A
  client is never used from another loop (``airflow dags test`` runs each trigger under its own
  ``asyncio.run``; the triggerer runs all of them in one loop); it is closed when its loop shuts down
  (``asyncio.run`` finalises async generators before closing the loop) or by ``close_clients()``.
  ``SyncClient``: one per ``SageMakerK8sHook`` (one task), as before.
* **Keyed by.** `KubeSettings`: what the connection resolves to through the provider's hook (its
  ``in_cluster`` / ``kube_config_path`` / ``kube_config`` / ``cluster_context`` extras, as the provider
  reads them) plus the kubeconfig's content, so a changed connection or a rewritten kubeconfig file gets
  a new client. A hook resolves its connection once, as the provider's hooks do.
* **Credentials.** Exec-plugin tokens come from `credentials.ExecCredential`, one per plugin
  configuration per process: minted shortly before the token expires, or when the API answers 401 to
  it -- then exactly one refresh for that token, and the call is retried once. Other kubeconfigs
  (static tokens, certificates, in-cluster) are loaded once per client and reloaded once on a 401.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sagemaker_k8s.hooks.credentials import (
    ExecCertificateError,
    ExecCredential,
    exec_credential,
    without_exec,
)

T = TypeVar("T")


@dataclass(frozen=True)
class KubeSettings:
    """Where a connection's Kubernetes configuration comes from: the client cache's key."""

    source: str  # "in_cluster" | "kubeconfig" (a file or the connection's kube_config) | "default"
    context: str | None = None
    config_text: str | None = None  # the kubeconfig's content (None: the library's default locations)
    config_path: str | None = None  # the file it was read from: relative paths in it resolve against it
    disable_verify_ssl: bool = False
    disable_tcp_keepalive: bool = False
    conn_id: str | None = field(default=None, compare=False)

    @property
    def base_dir(self) -> str | None:
        return os.path.dirname(self.config_path) if self.config_path else None

    def document(self) -> dict:
        doc = yaml.safe_load(self.config_text or "")
        if not isinstance(doc, dict):
            raise ValueError(f"connection {self.conn_id!r}: the kubeconfig is not a YAML/JSON mapping")
        return doc


def _field(extras: dict, name: str) -> Any:
    """A connection extra as the provider reads it (the legacy ``extra__kubernetes__`` prefix too)."""
    return (extras.get(name) if name in extras else extras.get(f"extra__kubernetes__{name}")) or None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _default_kubeconfig() -> str | None:
    """The single existing file among ``$KUBECONFIG`` / ``~/.kube/config`` (None: none or a merge)."""
    paths = os.environ.get("KUBECONFIG") or "~/.kube/config"
    existing = [p for p in (os.path.expanduser(p) for p in paths.split(os.pathsep) if p) if os.path.isfile(p)]
    return existing[0] if len(existing) == 1 else None


def resolve_settings(provider_hook, extras: dict) -> KubeSettings:
    """`KubeSettings` from the provider hook's constructor arguments and its connection's extras."""
    from airflow.sdk.exceptions import AirflowException

    in_cluster = (
        provider_hook.in_cluster if provider_hook.in_cluster is not None else _field(extras, "in_cluster")
    )
    context = provider_hook.cluster_context or _field(extras, "cluster_context")
    path, inline = _field(extras, "kube_config_path"), _field(extras, "kube_config")
    if sum(1 for option in (in_cluster, path, inline) if option) > 1:
        raise AirflowException(
            "Invalid connection configuration. Options kube_config_path, kube_config, in_cluster are "
            "mutually exclusive. You can only use one option at a time."
        )
    common = {
        "context": context,
        "disable_verify_ssl": _truthy(_field(extras, "disable_verify_ssl")),
        "disable_tcp_keepalive": _truthy(_field(extras, "disable_tcp_keepalive")),
        "conn_id": provider_hook.conn_id,
    }
    if in_cluster:
        return KubeSettings("in_cluster", **common)
    if inline:
        text = json.dumps(inline) if isinstance(inline, dict) else str(inline)
        return KubeSettings("kubeconfig", config_text=text, **common)
    source, path = ("kubeconfig", path) if path else ("default", _default_kubeconfig())
    if path is None:
        return KubeSettings(source, **common)
    path = os.path.abspath(os.path.expanduser(path))
    return KubeSettings(source, config_text=Path(path).read_text(), config_path=path, **common)


def sync_settings(provider_hook) -> KubeSettings:
    """For the provider's ``KubernetesHook`` (its connection is read once per hook, as it reads it)."""
    return resolve_settings(provider_hook, provider_hook.conn_extras)


async def async_settings(provider_hook) -> KubeSettings:
    """For the provider's ``AsyncKubernetesHook``."""
    return resolve_settings(provider_hook, await provider_hook.get_conn_extras())


def _prepared(settings: KubeSettings) -> tuple[dict, ExecCredential | None]:
    """The kubeconfig to load and, when its user's token comes from an exec plugin, the credential
    (the plugin is then removed from the document: the token is set on the client instead)."""
    doc = settings.document()
    credential = exec_credential(doc, settings.context, settings.base_dir)
    return (doc, None) if credential is None else (without_exec(doc, settings.context), credential)


def _set_token(configuration, token: str) -> str:
    configuration.api_key["BearerToken"] = f"Bearer {token}"
    return token


# -- asyncio ---------------------------------------------------------------------------------------


async def _configure_async(settings: KubeSettings, configuration) -> ExecCredential | None:
    from kubernetes_asyncio import config
    from kubernetes_asyncio.config.kube_config import KubeConfigLoader

    if settings.source == "in_cluster":
        config.load_incluster_config(client_configuration=configuration)
        return None
    if settings.config_text is None:
        await config.load_kube_config(context=settings.context, client_configuration=configuration)
        return None
    doc, credential = _prepared(settings)
    token = None
    if credential is not None:
        try:
            token = await asyncio.to_thread(credential.token)
        except ExecCertificateError:  # a client certificate: the library runs the plugin itself
            doc, credential = settings.document(), None
    loader = KubeConfigLoader(doc, active_context=settings.context, config_base_path=settings.base_dir or "")
    await loader.load_and_set(configuration)
    if token is not None:
        _set_token(configuration, token)
    return credential


class SharedClient:
    """One ``kubernetes_asyncio`` client (and connection pool) for one `KubeSettings` in one event loop."""

    def __init__(self, settings: KubeSettings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.loop = loop
        self.api_client = None
        self.credential: ExecCredential | None = None
        self.refreshes = 0
        self._version: object = 0  # the token in use (exec) or a reload counter (anything else)
        self._lock = asyncio.Lock()

    async def open(self) -> SharedClient:
        from airflow.providers.cncf.kubernetes.kube_client import _TimeoutAsyncK8sApiClient
        from kubernetes_asyncio.client import Configuration

        configuration = Configuration()
        self.credential = await _configure_async(self.settings, configuration)
        if self.credential is not None:
            self._version = configuration.api_key["BearerToken"].removeprefix("Bearer ")
        # The provider's client class: its default request timeout keeps a half-open connection from
        # hanging a wait forever.
        self.api_client = _TimeoutAsyncK8sApiClient(configuration=configuration)
        return self

    @property
    def connector(self):
        """The aiohttp connector of the client's pool (for tests and diagnostics)."""
        return self.api_client.rest_client.pool_manager.connector

    async def call(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """``await fn(api_client)`` with a valid token; after a 401, one refresh and one retry."""
        from kubernetes_asyncio.client.exceptions import ApiException

        if self.credential is not None:
            current = self.credential.current
            if current is None:
                await self._refresh(rejected=None)
            elif current != self._version:  # another loop or thread refreshed the process's token
                self._version = _set_token(self.api_client.configuration, current)
        sent = self._version
        try:
            return await fn(self.api_client)
        except ApiException as e:
            if e.status != 401:
                raise
        await self._refresh(rejected=sent)
        return await fn(self.api_client)

    async def _refresh(self, rejected: object | None) -> None:
        async with self._lock:
            if rejected is not None and self._version != rejected:
                return  # another call already replaced what was rejected
            configuration = self.api_client.configuration
            if self.credential is None:  # reload the kubeconfig (in-cluster: the rotated token file)
                await _configure_async(self.settings, configuration)
                self._version = self.refreshes + 1
            else:
                current = self.credential.current if rejected is None else None
                token = current or await asyncio.to_thread(self.credential.token, rejected)
                self._version = _set_token(configuration, token)
            self.refreshes += 1

    async def aclose(self) -> None:
        if self.api_client is not None:
            await self.api_client.close()


class _LoopClients:
    """The shared clients of one event loop."""

    def __init__(self) -> None:
        self.clients: dict[KubeSettings, asyncio.Task[SharedClient]] = {}
        self._finaliser = None

    async def start(self) -> None:
        # An async generator started in the loop is closed by loop.shutdown_asyncgens(), which
        # asyncio.run (the triggerer, `airflow dags test`) calls before closing the loop: its
        # `finally` closes the clients while the loop can still run their cleanup.
        self._finaliser = self._until_loop_shutdown()
        await self._finaliser.__anext__()

    async def _until_loop_shutdown(self):
        try:
            yield
        finally:
            await self.aclose()

    async def get(self, settings: KubeSettings) -> SharedClient:
        task = self.clients.get(settings)
        if task is None:  # the first caller opens it; concurrent callers await the same task
            loop = asyncio.get_running_loop()
            task = self.clients[settings] = loop.create_task(SharedClient(settings, loop).open())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            raise
        except BaseException:
            if self.clients.get(settings) is task:  # the next call tries again
                del self.clients[settings]
            raise

    async def aclose(self) -> None:
        with _LOOPS_LOCK:
            for loop, clients in list(_LOOPS.items()):
                if clients is self:
                    del _LOOPS[loop]
        tasks, self.clients = list(self.clients.values()), {}
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is None:
                await task.result().aclose()
            else:
                task.cancel()


_LOOPS: dict[asyncio.AbstractEventLoop, _LoopClients] = {}
_LOOPS_LOCK = threading.Lock()


async def _loop_clients() -> _LoopClients:
    loop = asyncio.get_running_loop()
    with _LOOPS_LOCK:
        clients = _LOOPS.get(loop)
        if clients is not None:
            return clients
        for other in [other for other in _LOOPS if other.is_closed()]:  # closed without shutdown_asyncgens
            del _LOOPS[other]
        clients = _LOOPS[loop] = _LoopClients()
    await clients.start()
    return clients


async def shared_client(settings: KubeSettings) -> SharedClient:
    """The running loop's client for ``settings`` (opened on first use)."""
    return await (await _loop_clients()).get(settings)


def loop_clients() -> list[SharedClient]:
    """The open clients of the running loop (tests and diagnostics)."""
    clients = _LOOPS.get(asyncio.get_running_loop())
    if clients is None:
        return []
    return [
        t.result() for t in clients.clients.values() if t.done() and not t.cancelled() and not t.exception()
    ]


async def close_clients() -> None:
    """Close the running loop's clients now (otherwise they close when the loop shuts down)."""
    clients = _LOOPS.get(asyncio.get_running_loop())
    if clients is not None:
        await clients.aclose()


# -- synchronous -----------------------------------------------------------------------------------


def _configure_sync(settings: KubeSettings, configuration) -> ExecCredential | None:
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    if settings.source == "in_cluster":
        config.load_incluster_config(client_configuration=configuration)
        return None
    if settings.source == "default":  # the provider's sync hook prefers in-cluster config here
        try:
            config.load_incluster_config(client_configuration=configuration)
            return None
        except ConfigException:
            pass
    if settings.config_text is None:
        config.load_kube_config(context=settings.context, client_configuration=configuration)
        return None
    doc, credential = _prepared(settings)
    token = None
    if credential is not None:
        try:
            token = credential.token()
        except ExecCertificateError:
            doc, credential = settings.document(), None
    loader = KubeConfigLoader(doc, active_context=settings.context, config_base_path=settings.base_dir or "")
    loader.load_and_set(configuration)
    if token is not None:
        _set_token(configuration, token)
    return credential


class SyncClient:
    """A ``kubernetes`` client for one hook, its token shared with the process's other clients."""

    def __init__(self, settings: KubeSettings) -> None:
        from airflow.providers.cncf.kubernetes.kube_client import _TimeoutK8sApiClient
        from kubernetes.client import Configuration

        self.settings = settings
        self.refreshes = 0
        configuration = Configuration()
        self.credential = _configure_sync(settings, configuration)
        self._version: object = 0
        if self.credential is not None:
            self._version = configuration.api_key["BearerToken"].removeprefix("Bearer ")
        self.api_client = _TimeoutK8sApiClient(
            configuration=configuration,
            disable_verify_ssl=settings.disable_verify_ssl,
            enable_tcp_keepalive=not settings.disable_tcp_keepalive,
        )

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with a valid token; after a 401, one refresh and one retry."""
        from kubernetes.client.exceptions import ApiException

        if self.credential is not None and self.credential.current != self._version:
            self._refresh(rejected=None)
        sent = self._version
        try:
            return fn(*args, **kwargs)
        except ApiException as e:
            if e.status != 401:
                raise
        self._refresh(rejected=sent)
        return fn(*args, **kwargs)

    def _refresh(self, rejected: object | None) -> None:
        configuration = self.api_client.configuration
        if self.credential is None:
            _configure_sync(self.settings, configuration)
            self._version = self.refreshes + 1
        else:
            self._version = _set_token(configuration, self.credential.token(rejected))
        self.refreshes += 1
