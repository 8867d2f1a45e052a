"""A kubeconfig for kubectl, ``kubernetes`` and ``kubernetes_asyncio`` (plain HTTP, or HTTPS with the CA)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml


def kubeconfig_dict(
    server_url: str,
    namespace: str = "default",
    context: str = "sandbox",
    user: str = "sandbox",
    token: str = "sandbox-token",  # noqa: S107 - the emulator's admin token
    cluster: str | None = None,
    certificate_authority: bytes | None = None,
) -> dict:
    """``certificate_authority``: PEM of the CA an ``https://`` server's certificate is signed by."""
    cluster = cluster or context
    cluster_entry: dict = {"server": server_url}
    if certificate_authority:
        cluster_entry["certificate-authority-data"] = base64.b64encode(certificate_authority).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster, "cluster": cluster_entry}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": context, "context": {"cluster": cluster, "user": user, "namespace": namespace}}
        ],
        "current-context": context,
    }


def write_kubeconfig(
    path: str | os.PathLike,
    server_url: str,
    namespace: str = "default",
    context: str = "sandbox",
    user: str = "sandbox",
    token: str = "sandbox-token",  # noqa: S107 - the emulator's admin token
    certificate_authority: bytes | None = None,
) -> Path:
    """Write the kubeconfig (mode 0600) and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    config = kubeconfig_dict(
        server_url, namespace, context, user, token, certificate_authority=certificate_authority
    )
    text = yaml.safe_dump(config, sort_keys=False)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return target
