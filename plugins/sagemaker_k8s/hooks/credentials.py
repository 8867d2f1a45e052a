"""Exec-plugin credentials: one token per kubeconfig user per process, minted again only when it expires
or the API server rejects it.

The kubeconfig ``aws eks update-kubeconfig`` writes gets its bearer token from an ``exec`` plugin
(``aws eks get-token``, a Python process of its own). The client libraries run it whenever a kubeconfig
is loaded, and the provider's ``AsyncKubernetesHook.get_conn()`` reloads an exec kubeconfig on every
call, so every poll of every wait ran the plugin. `ExecCredential` runs it (through the ``kubernetes``
library's own ``ExecProvider``, so commands, ``env`` and ``provideClusterInfo`` behave as before) once,
keeps the token until shortly before its ``expirationTimestamp`` (never, without one), and mints a new
one when a client reports that the token it sent was rejected (401) -- once per rejected token,
however many calls saw the rejection. It is thread-safe and shared by the sync and async clients of
the process (a token is just a string; it belongs to no event loop).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import time
from datetime import datetime

log = logging.getLogger(__name__)

#: A token is replaced this long before its expiry (at most a tenth of its lifetime).
REFRESH_MARGIN = 60.0


class ExecCertificateError(Exception):
    """The plugin answered with a client certificate, not a token: left to the client library."""


def active_user(doc: dict, context: str | None) -> tuple[dict, dict] | None:
    """(user, cluster) of the kubeconfig's ``context`` (default: ``current-context``), None if absent."""

    def named(section: str, name) -> dict | None:
        for item in doc.get(section) or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item
        return None

    ctx = named("contexts", context or doc.get("current-context"))
    if ctx is None:
        return None
    ctx = ctx.get("context") or {}
    user, cluster = named("users", ctx.get("user")), named("clusters", ctx.get("cluster"))
    return (user or {}).get("user") or {}, (cluster or {}).get("cluster") or {}


def without_exec(doc: dict, context: str | None) -> dict:
    """A copy of the kubeconfig whose active user has no ``exec`` (its token is set on the client)."""
    doc = copy.deepcopy(doc)
    found = active_user(doc, context)
    if found is not None:
        found[0].pop("exec", None)
    return doc


class ExecCredential:
    """Tokens from one exec plugin configuration. ``token()`` is the only call that may run the plugin."""

    def __init__(self, exec_config: dict, cluster: dict, base_dir: str | None) -> None:
        self.exec_config = exec_config
        self.cluster = cluster
        self.base_dir = base_dir
        self._lock = threading.Lock()
        self._state: tuple[str | None, float] = (None, 0.0)  # (token, refresh at), replaced whole

    @property
    def current(self) -> str | None:
        """The token if it is not about to expire (no lock, never runs the plugin)."""
        token, refresh_at = self._state
        return token if token is not None and time.time() < refresh_at else None

    def token(self, rejected: str | None = None) -> str:
        """A valid token: the current one unless it expires soon or is ``rejected`` (the API answered 401
        to it); then the plugin runs, once, whichever thread or loop asks first."""
        with self._lock:
            token, refresh_at = self._state
            if token is not None and token != rejected and time.time() < refresh_at:
                return token
            self._state = self._mint()
            return self._state[0]

    def _mint(self) -> tuple[str, float]:
        from kubernetes.config.exec_provider import ExecProvider
        from kubernetes.config.kube_config import ConfigNode

        started = time.time()
        provider = ExecProvider(
            ConfigNode("exec", self.exec_config), self.base_dir, ConfigNode("cluster", self.cluster)
        )
        status = provider.run()
        if "token" not in status:
            raise ExecCertificateError("the exec plugin returned no token")
        expiry = status.get("expirationTimestamp")
        if not expiry:
            refresh_at = float("inf")  # valid until the API server says otherwise
        else:
            expires = datetime.fromisoformat(str(expiry).replace("Z", "+00:00")).timestamp()
            refresh_at = expires - min(REFRESH_MARGIN, max(expires - started, 0.0) / 10)
        log.debug("exec plugin %s minted a token (refresh in %.0fs)", self.command, refresh_at - started)
        return status["token"], refresh_at

    @property
    def command(self) -> str:
        return str(self.exec_config.get("command"))


_REGISTRY: dict[str, ExecCredential] = {}
_REGISTRY_LOCK = threading.Lock()


def exec_credential(doc: dict, context: str | None, base_dir: str | None) -> ExecCredential | None:
    """The process's `ExecCredential` for the kubeconfig's active user; None if it has no ``exec``."""
    found = active_user(doc, context)
    if found is None or not isinstance(found[0].get("exec"), dict):
        return None
    user, cluster = found
    provide_cluster = bool(user["exec"].get("provideClusterInfo"))
    key = json.dumps([user["exec"], cluster if provide_cluster else None, base_dir], sort_keys=True)
    with _REGISTRY_LOCK:
        credential = _REGISTRY.get(key)
        if credential is None:
            credential = _REGISTRY[key] = ExecCredential(user["exec"], cluster, base_dir)
        return credential


def _forget_after_fork() -> None:
    """A forked child must not inherit a lock another thread held, nor share its parent's tokens."""
    global _REGISTRY_LOCK
    _REGISTRY.clear()
    _REGISTRY_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
