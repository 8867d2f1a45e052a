"""Helpers for the Kubernetes API emulator's contract suite: manifests, a tiny raw-HTTP client (so tests
see exactly what goes over the wire) and polling. A uniquely named module, so ``import`` never picks up
another directory's conftest."""

from __future__ import annotations

import copy
import functools
import http.client
import json
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
LEGACY_CRDS = ROOT / "include" / "manifests" / "crds" / "legacy"
ACK_CRDS = ROOT / "include" / "manifests" / "crds" / "ack"
TRAININGJOB_YAML = ROOT / "include" / "manifests" / "trainingjob.yaml"
GROUP = "sagemaker.aws.amazon.com"
TJ = f"/apis/{GROUP}/v1/namespaces/default/trainingjobs"


def wait_until(
    predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def cached_crd(path: Path) -> dict:
    return next(d for d in yaml.load_all(path.read_text(), Loader=_Loader) if d)


def load_crd(path: Path) -> dict:
    """A CRD manifest (parsed once per session; callers get their own copy)."""
    return copy.deepcopy(cached_crd(path))


def all_crds() -> list[dict]:
    return [load_crd(p) for d in (LEGACY_CRDS, ACK_CRDS) for p in sorted(d.glob("*.yaml"))]


def trainingjob(name: str = "xgboost-mnist", **spec_overrides: Any) -> dict:
    obj = yaml.safe_load(TRAININGJOB_YAML.read_text())
    obj["metadata"]["name"] = name
    obj["spec"].update(copy.deepcopy(spec_overrides))
    return obj


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: Any

    @property
    def warnings(self) -> list[str]:
        return self.headers.get_all("Warning") or []


class Http:
    """Raw HTTP against the emulator (one connection per request). For the TLS port pass the CA
    (``ca_pem``); ``token`` adds ``Authorization: Bearer <token>`` to every request."""

    def __init__(self, url: str, *, ca_pem: bytes | None = None, token: str | None = None) -> None:
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.tls = ssl.create_default_context(cadata=ca_pem.decode()) if parsed.scheme == "https" else None
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def _conn(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict | None = None,
        content_type: str = "application/json",
        headers: dict | None = None,
    ) -> Response:
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query, doseq=True)
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        hdrs = {"Content-Type": content_type, **self.auth, **(headers or {})}
        conn = self._conn()
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode()
        return Response(resp.status, resp.headers, parsed)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw) -> Response:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw) -> Response:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, patch_type: str = "merge", **kw) -> Response:
        media = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }.get(patch_type, patch_type)
        return self.request("PATCH", path, body, content_type=media, **kw)

    def delete(self, path: str, body: Any = None, **kw) -> Response:
        return self.request("DELETE", path, body, **kw)

    def watch(self, path: str, query: dict | None = None, headers: dict | None = None) -> WatchStream:
        query = {"watch": "true", **(query or {})}
        full = path + "?" + urllib.parse.urlencode(query)
        conn = self._conn(timeout=10.0)
        conn.request("GET", full, headers={**self.auth, **(headers or {})})
        return WatchStream(conn, conn.getresponse())


class WatchStream:
    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self.conn, self.resp = conn, resp
        self.status = resp.status
        self.headers = resp.headers

    def next(self, timeout: float = 5.0) -> dict | None:
        """The next event, or None at end of stream."""
        self.conn.sock.settimeout(timeout)
        line = self.resp.readline()
        if not line:
            return None
        return json.loads(line)

    def take(self, n: int, timeout: float = 5.0) -> list[dict]:
        return [self.next(timeout) for _ in range(n)]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def port_closed(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return False
    except OSError:
        return True
