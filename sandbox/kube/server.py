"""``KubeApiServer``: the emulator's aiohttp app on its own event-loop thread, plus the in-process API."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import threading
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sandbox.kube import errors as E
from sandbox.kube.auth import Authenticator
from sandbox.kube.builtin import ResourceType
from sandbox.kube.cluster import Cluster
from sandbox.kube.errors import KubeApiError
from sandbox.kube.faults import Faults, RequestLog, RequestRecord
from sandbox.kube.handlers import Handlers
from sandbox.kube.patch import JSON_PATCH, MERGE, STRATEGIC
from sandbox.kube.rbac import RbacAuthorizer
from sandbox.kube.tls import make_serving_cert
from sandbox.kube.watch import WatchHub

PATCH_TYPES = {"merge": MERGE, "json": JSON_PATCH, "strategic": STRATEGIC}


class KubeApiServer:
    """A Kubernetes API emulator on ``host``: plain HTTP on ``port`` and TLS on ``secure_port`` (0: an
    ephemeral port), with bearer-token authentication and RBAC (see ``auth.py`` and ``rbac.py``).

    ``history_size`` bounds the watch event history (older resourceVersions get 410 Expired);
    ``bookmark_interval`` is how often watches with ``allowWatchBookmarks`` get a BOOKMARK.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        secure_port: int = 0,
        history_size: int = 10000,
        bookmark_interval: float = 60.0,
        request_log_size: int = 10000,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._requested_secure_port = secure_port
        self._port: int | None = None
        self._secure_port: int | None = None
        self.tls = make_serving_cert(host)
        self.cluster = Cluster(history_size)
        self.auth = Authenticator(self._service_account)
        self.authorizer = RbacAuthorizer(self.cluster.store)
        self.faults = Faults()
        self.request_log = RequestLog(request_log_size)
        self.bookmark_interval = bookmark_interval
        self.hub: WatchHub | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("KubeApiServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """The plain-HTTP port (bearer tokens are checked; requests without any run as system:unsecured)."""
        return f"http://{self.host}:{self.port}"

    @property
    def secure_port(self) -> int:
        if self._secure_port is None:
            raise RuntimeError("KubeApiServer is not started")
        return self._secure_port

    @property
    def secure_url(self) -> str:
        """The TLS port (every request needs a bearer token); clients trust ``ca_pem``."""
        return f"https://{self.host}:{self.secure_port}"

    @property
    def ca_pem(self) -> bytes:
        return self.tls.ca_pem

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopped

    def start(self) -> KubeApiServer:
        if self._thread is not None:
            if self._stopped:
                raise RuntimeError("a stopped KubeApiServer cannot be restarted")
            return self
        self._thread = threading.Thread(target=self._run, name=f"kube-api-{id(self):x}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise RuntimeError(f"KubeApiServer failed to start: {self._error}") from self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or self._stopped:
            self._stopped = True
            return
        self._stopped = True
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        handlers = Handlers(self)
        app = web.Application(middlewares=[handlers.middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", handlers.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        secure = web.TCPSite(
            self._runner, self.host, self._requested_secure_port, ssl_context=self.tls.server_context()
        )
        await secure.start()
        self._port, self._secure_port = (address[1] for address in self._runner.addresses)
        self.hub = WatchHub(asyncio.get_running_loop())
        self.cluster.store.add_listener(self.hub.listener)

    async def _shutdown(self) -> None:
        assert self.hub is not None and self._runner is not None
        self.cluster.store.remove_listener(self.hub.listener)
        self.hub.close_all()
        await asyncio.sleep(0)
        await self._runner.cleanup()

    def _service_account(self, namespace: str, name: str) -> dict | None:
        return self.cluster.store.get(("", "serviceaccounts"), namespace, name)

    # -- request log -----------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """Snapshot of the request log (oldest first): method, path, query, status, user_agent, ..."""
        return self.request_log.snapshot()

    def clear_requests(self) -> None:
        self.request_log.clear()

    # -- in-process API -------------------------------------------------------------------------------
    def resolve(self, api_version: str, kind_or_plural: str) -> ResourceType:
        rt = self.cluster.registry.resolve(api_version, kind_or_plural)
        if rt is None:
            raise KubeApiError(
                404, f'no matches for kind "{kind_or_plural}" in version "{api_version}"', "NotFound", {}
            )
        return rt

    def _ns(self, rt: ResourceType, namespace: str | None) -> str | None:
        return (namespace or "default") if rt.namespaced else None

    def apply(self, obj: dict, *, subresource: str | None = None, dry_run: bool = False) -> dict:
        """Create ``obj`` or replace the stored one (an unconditional update unless ``obj`` carries a
        resourceVersion), with the HTTP API's validation, pruning and errors (:class:`KubeApiError`).

        When the kind has a status subresource and ``obj`` has a ``status``, that status is then written
        through ``/status`` as a controller would (the main write alone ignores it); without a ``status``
        key the stored status is kept. ``subresource="status"`` writes only ``.status`` of an existing
        object."""
        if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
            raise E.bad_request("apply needs an object with apiVersion and kind")
        rt = self.resolve(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        namespace = self._ns(rt, meta.get("namespace"))
        name = meta.get("name")
        with self.cluster.lock:
            exists = bool(name) and self.cluster.store.get(rt.storage_key, namespace or "", name) is not None
            if subresource is not None or exists:
                result, _ = self.cluster.update(rt, namespace, name or "", obj, subresource, dry_run)
            else:
                body = copy.deepcopy(obj)
                (body.get("metadata") or {}).pop("resourceVersion", None)
                result, _ = self.cluster.create(rt, namespace, body, dry_run)
            wants_status = subresource is None and rt.status_subresource and "status" in obj and not dry_run
            if wants_status and result.get("status") != obj["status"]:
                status_body = {
                    "apiVersion": rt.api_version,
                    "kind": rt.kind,
                    "metadata": {"name": result["metadata"]["name"]},
                    "status": obj["status"],
                }
                result, _ = self.cluster.update(
                    rt, namespace, result["metadata"]["name"], status_body, "status"
                )
        return copy.deepcopy(result)

    def create(self, obj: dict, *, dry_run: bool = False) -> dict:
        rt = self.resolve(obj.get("apiVersion", ""), obj.get("kind", ""))
        namespace = self._ns(rt, (obj.get("metadata") or {}).get("namespace"))
        return copy.deepcopy(self.cluster.create(rt, namespace, obj, dry_run)[0])

    def get(
        self, api_version: str, kind_or_plural: str, name: str, namespace: str | None = None
    ) -> dict | None:
        rt = self.resolve(api_version, kind_or_plural)
        try:
            return copy.deepcopy(self.cluster.get(rt, self._ns(rt, namespace), name))
        except KubeApiError as err:
            if err.code == 404:
                return None
            raise

    def list(
        self,
        api_version: str,
        kind_or_plural: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict]:
        """Items of the kind; ``namespace=None`` lists all namespaces."""
        rt = self.resolve(api_version, kind_or_plural)
        listing = self.cluster.list(rt, namespace if rt.namespaced else None, label_selector, field_selector)
        return copy.deepcopy(listing["items"])

    list_objects = list

    def patch(
        self,
        api_version: str,
        kind_or_plural: str,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict:
        """``patch_type``: merge | json | strategic (or a media type)."""
        rt = self.resolve(api_version, kind_or_plural)
        media = PATCH_TYPES.get(patch_type, patch_type)
        raw = json.dumps(patch).encode()
        result, _ = self.cluster.patch(rt, self._ns(rt, namespace), name, media, raw, subresource, dry_run)
        return copy.deepcopy(result)

    def delete(
        self,
        api_version: str,
        kind_or_plural: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = None,
        dry_run: bool = False,
    ) -> dict | None:
        """Delete like ``DELETE``: returns the object (still present with deletionTimestamp when it has
        finalizers) or a Success Status; None when there was nothing to delete."""
        rt = self.resolve(api_version, kind_or_plural)
        options = {"propagationPolicy": propagation_policy} if propagation_policy else {}
        try:
            return copy.deepcopy(self.cluster.delete(rt, self._ns(rt, namespace), name, options, dry_run))
        except KubeApiError as err:
            if err.code == 404 and err.reason == "NotFound":
                return None
            raise

    def apply_yaml(self, source: str | os.PathLike) -> list[dict]:
        """Apply every document of a YAML file (path) or YAML text, in order."""
        text = str(source)
        if isinstance(source, os.PathLike) or ("\n" not in text and Path(text).is_file()):
            text = Path(source).read_text()
        return [self.apply(doc) for doc in yaml.safe_load_all(text) if doc]

    def apply_dir(self, directory: str | os.PathLike, pattern: str = "*.yaml") -> list[dict]:
        """Apply every YAML file of ``directory`` (e.g. a CRD directory), sorted by name."""
        out: list[dict] = []
        for path in sorted(Path(directory).glob(pattern)):
            out += self.apply_yaml(path)
        return out
