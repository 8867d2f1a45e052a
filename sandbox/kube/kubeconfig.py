"""A kubeconfig for kubectl, ``kubernetes`` and ``kubernetes_asyncio`` (plain HTTP, or HTTPS with the CA)."""

from __future__ import annotations

import base64
import os
import sys
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


TOKEN_COMMAND = Path(__file__).resolve().parents[1] / "token_command.py"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"  # what `aws eks update-kubeconfig` writes


def exec_user(
    key_file: str | os.PathLike,
    *,
    token_ttl: float = 900.0,
    report_expiry: bool = True,
    log_file: str | os.PathLike | None = None,
    user: str = "sandbox-exec-admin",
    groups: tuple[str, ...] = ("system:masters",),
) -> dict:
    """A kubeconfig ``user`` whose token comes from ``sandbox/token_command.py`` run by this interpreter."""
    # -I: isolated mode, so the script's own directory (sandbox/, whose operator/ package shadows the
    # standard library's operator module) is not put on sys.path; the command needs only the stdlib.
    args = ["-I", str(TOKEN_COMMAND), "--key-file", str(key_file), "--ttl", str(token_ttl), "--user", user]
    for group in groups:
        args += ["--group", group]
    if log_file is not None:
        args += ["--log", str(log_file)]
    if not report_expiry:
        args.append("--no-expiry")
    return {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": sys.executable,
            "args": args,
            "interactiveMode": "Never",
            "provideClusterInfo": False,
        }
    }


def exec_invocations(log_file: str | os.PathLike) -> int:
    """How many times the token command has run with ``--log log_file``."""
    try:
        return len(Path(log_file).read_bytes().splitlines())
    except FileNotFoundError:
        return 0


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
    config = kubeconfig_dict(
        server_url, namespace, context, user, token, certificate_authority=certificate_authority
    )
    return write_kubeconfig_dict(path, config)


def write_exec_kubeconfig(
    path: str | os.PathLike,
    server_url: str,
    exec_key: bytes,
    *,
    certificate_authority: bytes | None = None,
    namespace: str = "default",
    token_ttl: float = 900.0,
    report_expiry: bool = True,
) -> Path:
    """A kubeconfig whose credentials come from an exec plugin, as ``aws eks update-kubeconfig`` writes.

    The plugin is ``sandbox/token_command.py``: it signs its tokens with ``exec_key`` (written next to
    the kubeconfig as ``<path>.key``, mode 0600) and logs each run to ``<path>.invocations`` (count
    them with ``exec_invocations``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    key_file = target.with_name(target.name + ".key")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(exec_key)
    config = kubeconfig_dict(server_url, namespace, certificate_authority=certificate_authority)
    config["users"][0]["user"] = exec_user(
        key_file,
        token_ttl=token_ttl,
        report_expiry=report_expiry,
        log_file=target.with_name(target.name + ".invocations"),
    )
    return write_kubeconfig_dict(target, config)


def write_kubeconfig_dict(path: str | os.PathLike, config: dict) -> Path:
    """Write ``config`` as YAML (mode 0600) and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(config, sort_keys=False)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return target
