"""Exec-plugin kubeconfigs (``write_exec_kubeconfig`` / ``Sandbox.exec_kubeconfig``): the token command's
ExecCredential, the emulator accepting its tokens until they expire (401 after, and after a revocation),
and the official clients and kubectl getting their credentials through it, as from ``aws eks get-token``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from sandbox import token_command
from sandbox.kube import exec_invocations, write_exec_kubeconfig
from tests.sandbox.kube.kube_helpers import Http

KUBECTL = "/usr/bin/kubectl"


@pytest.fixture
def exec_kubeconfig(kube, tmp_path):
    def write(**kwargs) -> Path:
        return write_exec_kubeconfig(
            tmp_path / "kubeconfig", kube.secure_url, kube.auth.exec_key, certificate_authority=kube.ca_pem,
            **kwargs,
        )  # fmt: skip

    return write


def run_plugin(kubeconfig: Path, api_version: str = "client.authentication.k8s.io/v1beta1") -> dict:
    """Run the kubeconfig's exec command as a client would (``KUBERNETES_EXEC_INFO`` set)."""
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["exec"]
    env = {
        **os.environ,
        "KUBERNETES_EXEC_INFO": json.dumps({"apiVersion": api_version, "kind": "ExecCredential"}),
    }
    out = subprocess.run(
        [user["command"], *user["args"]], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def invocations(kubeconfig: Path) -> int:
    return exec_invocations(f"{kubeconfig}.invocations")


def test_token_command_prints_an_exec_credential_and_counts_its_runs(exec_kubeconfig):
    kubeconfig = exec_kubeconfig(token_ttl=120)
    assert (os.stat(kubeconfig).st_mode & 0o777, os.stat(f"{kubeconfig}.key").st_mode & 0o777) == (
        0o600,
        0o600,
    )
    before = time.time()
    credential = run_plugin(kubeconfig, "client.authentication.k8s.io/v1")
    assert (credential["apiVersion"], credential["kind"]) == (
        "client.authentication.k8s.io/v1",
        "ExecCredential",
    )
    assert credential["status"]["token"].startswith(token_command.PREFIX)
    expires = datetime.fromisoformat(credential["status"]["expirationTimestamp"].replace("Z", "+00:00"))
    assert before + 119 <= expires.timestamp() <= time.time() + 120
    run_plugin(kubeconfig)
    assert invocations(kubeconfig) == 2


def test_no_expiry_leaves_the_timestamp_out(exec_kubeconfig):
    assert "expirationTimestamp" not in run_plugin(exec_kubeconfig(report_expiry=False))["status"]


def test_tokens_are_accepted_until_they_expire_or_are_revoked(kube, exec_kubeconfig):
    kubeconfig = exec_kubeconfig(token_ttl=60)
    token = run_plugin(kubeconfig)["status"]["token"]
    api = Http(kube.secure_url, ca_pem=kube.ca_pem, token=token)
    assert api.get("/api/v1/namespaces").status == 200
    record = kube.requests[-1]
    assert (record.user, "system:masters" in record.groups) == ("sandbox-exec-admin", True)

    kube.auth.clock = lambda: time.time() + 61
    expired = api.get("/api/v1/namespaces")
    assert (expired.status, expired.body["reason"]) == (401, "Unauthorized")
    kube.auth.clock = time.time

    kube.auth.revoke_exec_tokens()
    assert api.get("/api/v1/namespaces").status == 401
    fresh = run_plugin(kubeconfig)["status"]["token"]
    assert Http(kube.secure_url, ca_pem=kube.ca_pem, token=fresh).get("/api/v1/namespaces").status == 200


@pytest.mark.parametrize(
    "forge",
    [
        lambda token, key: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        lambda token, key: token_command.mint_token(b"another key" * 3, "x", ["system:masters"], 2e9, 0),
        lambda token, key: token_command.mint_token(key, "x", ["system:masters"], time.time() - 1, 0),
    ],
    ids=["tampered", "other-key", "expired"],
)
def test_forged_or_stale_tokens_are_401(kube, exec_kubeconfig, forge):
    token = run_plugin(exec_kubeconfig())["status"]["token"]
    response = Http(kube.secure_url, ca_pem=kube.ca_pem, token=forge(token, kube.auth.exec_key)).get(
        "/api/v1/namespaces"
    )
    assert response.status == 401


def test_official_clients_get_their_token_from_the_plugin(exec_kubeconfig):
    from kubernetes import client, config
    from kubernetes_asyncio import client as async_client
    from kubernetes_asyncio import config as async_config

    kubeconfig = exec_kubeconfig()
    api = config.new_client_from_config(str(kubeconfig))
    assert "default" in {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}

    async def list_async() -> set[str]:
        async with await async_config.new_client_from_config(str(kubeconfig)) as api:
            return {ns.metadata.name for ns in (await async_client.CoreV1Api(api).list_namespace()).items}

    assert "default" in asyncio.run(list_async())
    assert invocations(kubeconfig) >= 2


@pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")
def test_kubectl_gets_its_token_from_the_plugin(exec_kubeconfig):
    kubeconfig = exec_kubeconfig()
    out = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "auth", "whoami", "-o", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert json.loads(out.stdout)["status"]["userInfo"]["username"] == "sandbox-exec-admin"
    assert invocations(kubeconfig) == 1
