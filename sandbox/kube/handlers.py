"""aiohttp request handling: authentication and authorization, URL parsing, verbs, watch streaming,
fault injection and request log."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from sandbox.kube import authapi, discovery, openapi, protobuf, rbac, scale
from sandbox.kube import errors as E
from sandbox.kube.auth import UserInfo
from sandbox.kube.builtin import ResourceType
from sandbox.kube.deletion import served
from sandbox.kube.errors import KubeApiError, go_quote
from sandbox.kube.faults import RequestRecord
from sandbox.kube.requestinfo import request_info
from sandbox.kube.table import to_table, wants_table
from sandbox.kube.watch import Watcher

if TYPE_CHECKING:
    from sandbox.kube.server import KubeApiServer

log = logging.getLogger(__name__)
JSON = "application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"
TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
NAMESPACE_SUBRESOURCES = ("status", "finalize")
RECORD = web.RequestKey("record", RequestRecord)
USER = web.RequestKey("user", UserInfo)


def parse_bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "t", "true")


def json_response(
    body: Any, status: int = 200, warnings: list[str] | None = None, content_type: str = JSON
) -> web.Response:
    resp = web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        headers={"Content-Type": content_type},
    )
    for text in warnings or []:
        resp.headers.add("Warning", f"299 - {go_quote(text)}")
    return resp


def error_response(err: KubeApiError) -> web.Response:
    resp = json_response(err.status, err.code)
    for key, value in err.headers.items():
        resp.headers[key] = value
    return resp


@dataclass
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_path: bool


class Handlers:
    def __init__(self, server: KubeApiServer) -> None:
        self.server = server
        self.cluster = server.cluster

    # -- middleware: request log + faults + error rendering ----------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler):
        record = RequestRecord(
            request.method,
            request.path,
            dict(request.query),
            request.headers.get("User-Agent", ""),
            request.headers.get("Content-Type", ""),
        )
        request[RECORD] = record
        self.server.request_log.append(record)
        try:
            self._authorize(request, record)
            rule = self.server.faults.match(request.method, request.path)
            if rule is not None:
                record.fault = rule.id
                if rule.delay_seconds:
                    await asyncio.sleep(rule.delay_seconds)
                if rule.status:
                    raise E.generic(rule.status, rule.message, rule.retry_after)
            resp = await handler(request)
            if rule is not None and rule.delay_after_seconds:
                await asyncio.sleep(rule.delay_after_seconds)
        except KubeApiError as err:
            resp = error_response(err)
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug here must still look like an apiserver error
            log.exception("kube sandbox: internal error on %s %s", request.method, request.path)
            resp = error_response(KubeApiError(500, f"Internal error occurred: {exc}", "InternalError", {}))
        record.status = resp.status
        return resp

    def _authorize(self, request: web.Request, record: RequestRecord) -> None:
        """Authenticate (401) and authorize (403) as kube-apiserver's filters do, before any fault."""
        record.secure = request.secure
        user = self.server.auth.authenticate(
            request.headers.get("Authorization"), request.path, request.secure
        )
        if user is None:
            raise E.unauthorized()
        request[USER] = user
        record.user, record.groups = user.name, user.groups
        info = request_info(request.method, request.path, request.query)
        decision = self.server.authorizer.authorize(user, info)
        record.attributes, record.allowed, record.authz_reason = info, decision.allowed, decision.reason
        if not decision.allowed:
            raise rbac.forbidden(user, info, decision.reason)

    # -- dispatch --------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/version":
            return json_response(discovery.VERSION)
        if path.startswith("/openapi/"):
            return json_response(openapi.document(self.cluster.registry, path, request.query))
        parts = path.strip("/").split("/")
        registry = self.cluster.registry
        if parts[0] == "api":
            if len(parts) == 1:
                return json_response(discovery.api_versions(f"{self.server.host}:{self.server.port}"))
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                return json_response(discovery.group_list(registry))
            if len(parts) == 2:
                doc = discovery.group(registry, parts[1])
                if doc is None:
                    raise E.not_found_generic()
                return json_response(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise E.not_found_generic()
        if not rest:
            if request.method != "GET":
                raise E.method_not_allowed()
            doc = discovery.resource_list(registry, group, version)
            if doc is None:
                raise E.not_found_generic()
            return json_response(doc)
        special = authapi.is_token_request(group, rest) or (
            version == "v1" and len(rest) == 1 and (group, rest[0]) in authapi.REVIEWS
        )
        if special:
            if request.method != "POST":
                raise E.method_not_allowed()
            body = await _body(request)
            if len(rest) == 1:
                return json_response(authapi.review(self.server, request[USER], group, rest[0], body), 201)
            return json_response(authapi.token_request(self.server, rest[1], rest[3], body), 201)
        target = self._target(group, version, rest)
        method = request.method
        if method == "GET":
            return await self._get(request, target)
        if method == "POST" and target.name is None:
            return await self._create(request, target)
        if method == "PUT" and target.name is not None:
            return await self._update(request, target)
        if method == "PATCH" and target.name is not None:
            return await self._patch(request, target)
        if method == "DELETE":
            return await self._delete(request, target)
        raise E.method_not_allowed()

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        watch_path = False
        if rest[0] == "watch":
            watch_path, rest = True, rest[1:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in NAMESPACE_SUBRESOURCES:
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise E.not_found_generic()
        rt = self.cluster.registry.get(group, version, rest[0])
        if rt is None:
            raise E.not_found_generic()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if (namespace is not None and not rt.namespaced) or (rt.namespaced and name and namespace is None):
            raise E.not_found_generic()
        if sub is not None and not (
            (sub == "status" and rt.status_subresource) or (sub == "scale" and rt.scale_subresource)
        ):
            raise E.not_found_generic()
        return Target(rt, namespace, name, sub, watch_path)

    # -- verbs -------------------------------------------------------------------------------------
    async def _get(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        accept = request.headers.get("Accept", "")
        if t.subresource == "scale":
            return json_response(scale.get_scale(self.cluster, t.rt, t.namespace, t.name))
        if t.name is not None and not t.watch_path:
            obj = self.cluster.get(t.rt, t.namespace, t.name)
            if wants_table(accept):
                return json_response(
                    to_table(t.rt, [obj], None, q.get("includeObject")), content_type=TABLE_CT
                )
            return json_response(obj)
        if t.watch_path or parse_bool(q.get("watch")):
            field_selector = q.get("fieldSelector")
            if t.name is not None:
                field_selector = ",".join(filter(None, [field_selector, f"metadata.name={t.name}"]))
            return await self._watch(request, t, field_selector)
        limit = _int(q.get("limit"), "limit")
        listing = self.cluster.list(
            t.rt, t.namespace, q.get("labelSelector"), q.get("fieldSelector"), limit, q.get("continue")
        )
        if wants_table(accept):
            meta = {k: v for k, v in listing["metadata"].items() if k != "resourceVersion"}
            return json_response(
                to_table(
                    t.rt,
                    listing["items"],
                    listing["metadata"]["resourceVersion"],
                    q.get("includeObject"),
                    meta,
                ),
                content_type=TABLE_CT,
            )
        return json_response(listing)

    async def _create(self, request: web.Request, t: Target) -> web.Response:
        if t.rt.namespaced and t.namespace is None:
            raise E.method_not_allowed()
        body = await _body(request)
        obj, warnings = self.cluster.create(t.rt, t.namespace, body, _dry_run(request), _fv(request))
        return json_response(obj, 201, warnings)

    async def _update(self, request: web.Request, t: Target) -> web.Response:
        body = await _body(request)
        if t.subresource == "scale":
            return json_response(
                scale.update_scale(self.cluster, t.rt, t.namespace, t.name, body, _dry_run(request))
            )
        obj, warnings = self.cluster.update(
            t.rt, t.namespace, t.name, body, t.subresource, _dry_run(request), _fv(request)
        )
        return json_response(obj, 200, warnings)

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        raw = await request.read()
        if t.subresource == "scale":
            return json_response(
                scale.patch_scale(
                    self.cluster,
                    t.rt,
                    t.namespace,
                    t.name,
                    request.headers.get("Content-Type", ""),
                    raw,
                    _dry_run(request),
                )
            )
        obj, warnings = self.cluster.patch(
            t.rt,
            t.namespace,
            t.name,
            request.headers.get("Content-Type", ""),
            raw,
            t.subresource,
            _dry_run(request),
            _fv(request),
        )
        return json_response(obj, 200, warnings)

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        raw = await request.read()
        options: dict = {}
        if raw.strip():
            try:
                options = json.loads(raw)
            except ValueError as exc:
                raise E.bad_request(f"invalid DeleteOptions: {exc}") from exc
            if not isinstance(options, dict):
                raise E.bad_request("invalid DeleteOptions: not an object")
        if "propagationPolicy" in request.query:
            options["propagationPolicy"] = request.query["propagationPolicy"]
        dry_run = _dry_run(request) or "All" in (options.get("dryRun") or [])
        if t.name is None:
            if "deletecollection" not in t.rt.verbs:
                raise E.method_not_allowed()
            q = request.query
            result = self.cluster.delete_collection(
                t.rt, t.namespace, q.get("labelSelector"), q.get("fieldSelector"), options, dry_run
            )
            return json_response(result)
        if t.subresource is not None:
            raise E.method_not_allowed()
        return json_response(self.cluster.delete(t.rt, t.namespace, t.name, options, dry_run))

    # -- watch ---------------------------------------------------------------------------------------
    async def _watch(self, request: web.Request, t: Target, field_selector: str | None) -> web.StreamResponse:
        q = request.query
        by_label, by_field = self.cluster.matchers(t.rt, q.get("labelSelector"), field_selector)
        timeout = _int(q.get("timeoutSeconds"), "timeoutSeconds")
        bookmarks = parse_bool(q.get("allowWatchBookmarks"))
        send_initial = parse_bool(q.get("sendInitialEvents"))
        rv = q.get("resourceVersion") or ""
        table = wants_table(request.headers.get("Accept"))
        hub = self.server.hub
        store = self.cluster.store
        key = t.rt.storage_key
        gone: KubeApiError | None = None
        initial: list[tuple[str, dict]] = []
        events = []
        with self.cluster.lock:
            if send_initial or rv in ("", "0"):
                initial = [
                    ("ADDED", served(t.rt, o))
                    for o in store.list(key, t.namespace)
                    if by_label(o) and by_field(o)
                ]
            else:
                since = _int(rv, "resourceVersion")
                replay = store.events_after(since, key)
                if replay is None:
                    gone = E.expired(f"too old resource version: {since} ({store.compacted_rv + 1})")
                else:
                    events = replay
            watcher = Watcher(t.rt, t.namespace, lambda o: by_label(o) and by_field(o), store.rv)
            for event in events:
                item = watcher.translate(event)
                if item is not None:
                    initial.append(item)
            hub.watchers.add(watcher)
        resp = web.StreamResponse(
            status=200,
            headers={"Content-Type": TABLE_CT if table else JSON, "Cache-Control": "no-cache, private"},
        )
        resp.enable_chunked_encoding()
        request[RECORD].status = 200
        try:
            await resp.prepare(request)

            async def send(kind: str, obj: dict) -> None:
                if table and kind in ("ADDED", "MODIFIED", "DELETED"):
                    obj = to_table(t.rt, [obj], None, q.get("includeObject"))
                await resp.write(
                    json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"
                )

            if gone is not None:
                await send("ERROR", gone.status)
                return resp
            for kind, obj in initial:
                await send(kind, obj)
            if send_initial:
                await send("BOOKMARK", self._bookmark(t.rt, watcher.start_rv, initial_end=True))
            await self._pump(request, watcher, send, timeout, bookmarks)
        except ConnectionError:
            pass
        except Exception:  # the stream is already open: just end it
            log.exception("kube sandbox: watch stream failed")
        finally:
            hub.watchers.discard(watcher)
        return resp

    async def _pump(self, request: web.Request, watcher: Watcher, send, timeout: int | None, bookmarks: bool):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        interval = self.server.bookmark_interval
        next_bookmark = loop.time() + interval
        last_rv = watcher.start_rv
        while True:
            now = loop.time()
            if deadline is not None and now >= deadline:
                return
            limits = [1.0]
            if deadline is not None:
                limits.append(deadline - now)
            if bookmarks:
                limits.append(next_bookmark - now)
            wait = min(limits)
            try:
                item = await asyncio.wait_for(watcher.queue.get(), max(wait, 0.0))
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    return
                if bookmarks and loop.time() >= next_bookmark:
                    await send("BOOKMARK", self._bookmark(watcher.rt, max(last_rv, self.cluster.store.rv)))
                    next_bookmark = loop.time() + interval
                continue
            if item is None:
                return
            last_rv, kind, obj = item
            await send(kind, obj)

    @staticmethod
    def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> dict:
        meta: dict = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}


# -- request helpers -----------------------------------------------------------------------------------
def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise E.bad_request(f"invalid {name}: {value!r}") from exc


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise E.bad_request(f'Invalid dryRun value "{value}": supported values: "All"')
    return bool(values)


def _fv(request: web.Request) -> str:
    return request.query.get("fieldValidation") or "Warn"


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    ctype = request.headers.get("Content-Type", JSON).split(";")[0].strip().lower()
    if ctype == PROTOBUF:
        try:
            return protobuf.decode(raw)
        except protobuf.ProtobufError as exc:
            raise KubeApiError(
                415,
                f"the body of the request was in an unknown format - {exc}; send application/json",
                "UnsupportedMediaType",
                {},
            ) from exc
    try:
        if "yaml" in ctype:
            return yaml.safe_load(raw)
        if ctype and ctype not in (JSON, "*/*", "text/plain"):
            raise E.unsupported_media_type(ctype, [JSON, "application/yaml"])
        return json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise E.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
