#!/usr/bin/env python3
"""airflow-init's kubeconfig check (docker-compose deployment), installed as ``check-kubeconfig``.

``check-kubeconfig --uid AIRFLOW_UID /opt/airflow/kubeconfig`` runs as root in airflow-init and exits
1 with the fix when the Airflow containers could not use the kubeconfig mounted from
``KUBECONFIG_HOST_PATH``:

* it is not a file;
* AIRFLOW_UID cannot read it (e.g. a 0600 ``~/.kube/config`` of the host user while AIRFLOW_UID is
  the example's 50000): checked by a child process running as that UID with group 0 and no
  supplementary groups, exactly as the services run;
* the context the connection uses (its ``cluster_context``, else ``current-context``) or its user is
  missing;
* that user's ``exec`` plugin runs a command the image does not have (as that UID, on this PATH), or
  names an AWS profile the containers do not have.

It does not contact the cluster or AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

KUBERNETES_CONNECTION_ENV = "AIRFLOW_CONN_KUBERNETES_DEFAULT"
#: The exec block ``aws eks update-kubeconfig`` writes, which the image's ``aws`` runs
#: (deploy/aws_eks_get_token.py).
AWS_EXEC_EXAMPLE = """\
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args: [--region, {region}, eks, get-token, --cluster-name, {cluster}, --output, json]"""


class KubeconfigError(Exception):
    """The kubeconfig is unusable in the containers; the message says how to fix it."""


def run_as(uid: int, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``argv`` as ``uid`` with group 0 and no supplementary groups: how the Airflow services run."""
    as_user: dict[str, Any] = {}
    if os.geteuid() != uid:
        if os.geteuid() != 0:
            raise KubeconfigError(f"run check-kubeconfig as root or as uid {uid}")
        # The child drops to uid:0 (setgroups, setregid, setreuid) before exec: the kernel decides.
        as_user = {"user": uid, "group": 0, "extra_groups": []}
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, **as_user)


def check_readable(path: Path, uid: int) -> None:
    if not path.is_file():
        raise KubeconfigError(
            f"no kubeconfig file at {path}: set KUBECONFIG_HOST_PATH in .env to the cluster's kubeconfig "
            "on the host (`aws eks update-kubeconfig --name <cluster> --kubeconfig <file>` writes one)"
        )
    if run_as(uid, ["test", "-r", str(path)]).returncode == 0:
        return
    st = path.stat()
    fixes = []
    if st.st_uid != 0:
        fixes.append(
            f"set AIRFLOW_UID={st.st_uid} in .env (the file's owner: `id -u` on the host), "
            "then `docker compose up -d` again"
        )
    fixes.append(
        "or mount a copy readable by the group root: `sudo install -m 0640 -g 0 <kubeconfig> ./kubeconfig` "
        "and KUBECONFIG_HOST_PATH=./kubeconfig in .env"
    )
    raise KubeconfigError(
        f"the Airflow user (AIRFLOW_UID={uid}, group 0) cannot read the kubeconfig mounted from "
        f"KUBECONFIG_HOST_PATH (owner uid {st.st_uid}, group {st.st_gid}, "
        f"mode {stat.S_IMODE(st.st_mode):04o}).\n"
        "Fix: " + ";\n     ".join(fixes) + "."
    )


def connection_context(environ: dict[str, str]) -> str | None:
    """The ``cluster_context`` of ``AIRFLOW_CONN_KUBERNETES_DEFAULT`` (JSON form) if it names one."""
    value = (environ.get(KUBERNETES_CONNECTION_ENV) or "").strip()
    if not value.startswith("{"):
        return None
    try:
        extra = json.loads(value).get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
    except (ValueError, AttributeError):
        return None
    return extra.get("cluster_context") or None


def _named(items: Any, name: str, kind: str) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get(kind) or {}
    raise KeyError(name)


def exec_block(config: Any, context_name: str | None) -> tuple[str, str, dict[str, Any] | None]:
    """(context, user, its ``exec`` block or None) of the context the connection uses."""
    if not isinstance(config, dict):
        raise KubeconfigError("the kubeconfig is not a YAML mapping")
    context_name = context_name or config.get("current-context")
    if not context_name:
        raise KubeconfigError(
            "the kubeconfig has no current-context: `kubectl config use-context <context> "
            "--kubeconfig <file>` on the host, or set cluster_context in AIRFLOW_CONN_KUBERNETES_DEFAULT's "
            "extra"
        )
    try:
        context = _named(config.get("contexts"), context_name, "context")
    except KeyError:
        raise KubeconfigError(f"the kubeconfig has no context {context_name!r}") from None
    user_name = context.get("user")
    if not user_name:
        raise KubeconfigError(f"context {context_name!r} names no user")
    try:
        user = _named(config.get("users"), user_name, "user")
    except KeyError:
        raise KubeconfigError(
            f"the kubeconfig has no user {user_name!r} (context {context_name!r})"
        ) from None
    return context_name, user_name, user.get("exec")


def _arg(args: list[str], flag: str) -> str | None:
    for i, word in enumerate(args):
        if word == flag and i + 1 < len(args):
            return args[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def check_exec(block: dict[str, Any], uid: int, environ: dict[str, str]) -> str:
    """The path the exec plugin's command resolves to as ``uid``; KubeconfigError if it cannot run."""
    command = block.get("command")
    args = [str(a) for a in block.get("args") or []]
    env = {str(e.get("name")): str(e.get("value")) for e in block.get("env") or [] if isinstance(e, dict)}
    if not command:
        raise KubeconfigError("the kubeconfig's exec block has no command")
    found = run_as(uid, ["sh", "-c", 'command -v -- "$1"', "sh", str(command)])
    resolved = found.stdout.strip()
    if found.returncode != 0 or not resolved:
        region = _arg(args, "--region") or environ.get("AWS_DEFAULT_REGION") or "<region>"
        cluster = (
            _arg(args, "--cluster-name") or _arg(args, "-i") or _arg(args, "--cluster-id") or "<cluster>"
        )
        same = ""
        if Path(str(command)).name == "aws":
            same = f" (keep the args: only the path {command!r} is the host's)"
        raise KubeconfigError(
            f"the kubeconfig's exec plugin runs {shlex.join([str(command), *args])!r}, and the Airflow image "
            f"has no {command!r} for AIRFLOW_UID={uid}.\n"
            "Fix: the image's `aws` implements `aws eks get-token` (deploy/aws_eks_get_token.py); in the "
            f"kubeconfig's user use{same}\n" + AWS_EXEC_EXAMPLE.format(region=region, cluster=cluster) + "\n"
            "(what `aws eks update-kubeconfig --name <cluster> --region <region>` writes), then "
            "`docker compose up -d` again"
        )
    profile = _arg(args, "--profile") or env.get("AWS_PROFILE")
    if Path(str(command)).name == "aws" and profile:
        import botocore.session

        if profile not in botocore.session.Session().available_profiles:
            raise KubeconfigError(
                f"the kubeconfig's exec plugin uses the AWS profile {profile!r} (--profile or AWS_PROFILE), "
                "which the containers do not have (no ~/.aws is mounted).\n"
                "Fix: remove it from the exec block (`aws eks update-kubeconfig` without --profile): inside "
                "the containers credentials come from AIRFLOW_CONN_AWS_DEFAULT's access key or the host's "
                "instance role"
            )
    return resolved


def check(path: Path, uid: int, environ: dict[str, str]) -> str:
    """A one-line summary; KubeconfigError with the fix when the containers cannot use the kubeconfig."""
    check_readable(path, uid)
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"the kubeconfig is not valid YAML: {exc}") from None
    context, user, block = exec_block(config, connection_context(environ))
    summary = f"kubeconfig OK for AIRFLOW_UID={uid}: context {context!r}, user {user!r}"
    if block is None:
        return summary + ", no exec plugin"
    return summary + f", exec plugin {block.get('command')!r} -> {check_exec(block, uid, environ)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check-kubeconfig", description=__doc__.splitlines()[0])
    parser.add_argument("--uid", type=int, required=True, help="AIRFLOW_UID: the services' user")
    parser.add_argument("kubeconfig", type=Path)
    args = parser.parse_args(argv)
    try:
        print(check(args.kubeconfig, args.uid, dict(os.environ)))
    except KubeconfigError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
