"""A plain-http kubeconfig for kubectl, ``kubernetes`` and ``kubernetes_asyncio``."""

from __future__ import annotations

import os
from pathlib import Path

import yaml


def kubeconfig_dict(
    server_url: str,
    namespace: str = "default",
    context: str = "sandbox",
    user: str = "sandbox",
    token: str = "sandbox-token",  # noqa: S107 - the emulator accepts any token
    cluster: str | None = None,
) -> dict:
    cluster = cluster or context
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster, "cluster": {"server": server_url}}],
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
    token: str = "sandbox-token",  # noqa: S107 - the emulator accepts any token
) -> Path:
    """Write the kubeconfig (mode 0600) and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig_dict(server_url, namespace, context, user, token), sort_keys=False)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return target
