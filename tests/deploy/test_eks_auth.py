"""The image's EKS authentication: ``deploy/aws_eks_get_token.py`` (the image's ``aws``) and
``deploy/check_kubeconfig.py`` (airflow-init's ``check-kubeconfig``), without AWS or a cluster.

* the token equals the amazon provider's ``fetch_access_token_for_cluster`` (same session, same clock);
* the Kubernetes clients (``kubernetes``, ``kubernetes_asyncio``: the hooks' and the triggers') load a
  kubeconfig shaped like ``aws eks update-kubeconfig``'s and get a bearer token from ``aws`` on PATH;
* the credential sources in order (profile, ``AIRFLOW_CONN_AWS_DEFAULT``'s key, default chain, an
  assumed role under moto) and the refusals (other commands, no credentials, no region);
* check-kubeconfig's choice of context and user, and its errors.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.auth
import pytest

from .conftest import AWS_EXEC_ARGS, CLUSTER, REGION, kubeconfig_text

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation example
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 (AWS's documentation example)
CONN_KEY = "AKIAI44QH8DHBEXAMPLE"  # the other documentation example
FROZEN = datetime(2026, 1, 2, 3, 4, 5)


def _provider_eks_get_token() -> ModuleType:
    """The provider's module loaded from its file: importing it by name imports all of Airflow (~4 s)."""
    spec = importlib.util.find_spec("airflow")
    assert spec and spec.submodule_search_locations
    for location in spec.submodule_search_locations:
        path = Path(location, "providers", "amazon", "aws", "utils", "eks_get_token.py")
        if path.is_file():
            module_spec = importlib.util.spec_from_file_location("provider_eks_get_token", path)
            assert module_spec and module_spec.loader
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
    pytest.fail("apache-airflow-providers-amazon has no aws/utils/eks_get_token.py")


def _decode(token: str) -> tuple[str, dict[str, list[str]]]:
    """(host, query) of the presigned URL inside a ``k8s-aws-v1.`` token."""
    assert token.startswith("k8s-aws-v1.")
    body = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    parts = urlsplit(url)
    return parts.netloc, parse_qs(parts.query)


def _access_key(token: str) -> str:
    return _decode(token)[1]["X-Amz-Credential"][0].split("/")[0]


@pytest.fixture
def aws_env(monkeypatch, shared_dir):
    """No ambient AWS configuration: no profile files, no instance metadata, no keys in the environment."""
    for name in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(shared_dir / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared_dir / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "login": CONN_KEY, "password": SECRET_KEY, "extra": {}}),
    )
    monkeypatch.delenv("KUBERNETES_EXEC_INFO", raising=False)
    return monkeypatch


def _run(aws_stand_in, capsys, argv: list[str]) -> tuple[int, dict | None, str]:
    rc = aws_stand_in.main(argv)
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 else None), err


# --- the token ----------------------------------------------------------------------------------------


def test_token_equals_the_amazon_providers(aws_stand_in, monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FROZEN)
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "regional")
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    sts_url = f"{session.client('sts').meta.endpoint_url}/?Action=GetCallerIdentity&Version=2011-06-15"
    provider = _provider_eks_get_token()
    theirs = provider.fetch_access_token_for_cluster(CLUSTER, sts_url, REGION, session=session)
    assert aws_stand_in.get_token(session, CLUSTER) == theirs
    assert aws_stand_in.URL_EXPIRES_IN == provider.STS_TOKEN_EXPIRES_IN
    assert aws_stand_in.TOKEN_EXPIRATION.total_seconds() == provider.TOKEN_EXPIRATION_MINUTES * 60


def test_token_is_a_presigned_regional_get_caller_identity(aws_stand_in):
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    host, query = _decode(aws_stand_in.get_token(session, CLUSTER))
    assert host == f"sts.{REGION}.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert (
        query["X-Amz-Credential"][0].startswith(f"{ACCESS_KEY}/")
        and f"/{REGION}/sts/" in query["X-Amz-Credential"][0]
    )


def test_exec_credential_shape(aws_stand_in, aws_env, capsys):
    rc, cred, err = _run(aws_stand_in, capsys, AWS_EXEC_ARGS)
    assert rc == 0, err
    assert cred["kind"] == "ExecCredential" and cred["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    expires = datetime.strptime(cred["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    now = datetime.now(UTC).replace(tzinfo=None)
    assert 13 * 60 < (expires - now).total_seconds() <= 14 * 60
    assert _access_key(cred["status"]["token"]) == CONN_KEY


@pytest.mark.parametrize(
    "version", ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]
)
def test_answers_in_the_api_version_the_client_asks_for(aws_stand_in, aws_env, capsys, version):
    aws_env.setenv("KUBERNETES_EXEC_INFO", json.dumps({"apiVersion": version, "kind": "ExecCredential"}))
    rc, cred, err = _run(aws_stand_in, capsys, AWS_EXEC_ARGS)
    assert rc == 0 and cred["apiVersion"] == version, err


# --- through the Kubernetes clients, as the hooks and triggers load the mounted kubeconfig ----------------


@pytest.fixture
def kubeconfig_on_path(aws_env, image_bin, shared_dir) -> Path:
    aws_env.setenv("PATH", f"{image_bin}:{Path(sys.executable).parent}:/usr/bin:/bin")
    path = shared_dir / "kubeconfig"
    path.write_text(kubeconfig_text())
    return path


def _bearer(cfg) -> str:
    """The token the client sends (``Authorization: Bearer <token>``)."""
    value = cfg.api_key["BearerToken"]
    assert value.startswith("Bearer "), value[:20]
    return value.removeprefix("Bearer ")


def test_kubernetes_client_gets_a_token_from_the_images_aws(kubeconfig_on_path):
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig_on_path), client_configuration=cfg)
    assert _access_key(_bearer(cfg)) == CONN_KEY
    assert cfg.host == "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com"


def test_kubernetes_asyncio_gets_a_token_from_the_images_aws(kubeconfig_on_path):
    from kubernetes_asyncio import client, config

    async def load() -> client.Configuration:
        cfg = client.Configuration()
        await config.load_kube_config(config_file=str(kubeconfig_on_path), client_configuration=cfg)
        return cfg

    assert _access_key(_bearer(asyncio.run(load()))) == CONN_KEY


# --- credentials, in order --------------------------------------------------------------------------------


def test_connection_uri_form_and_its_region(aws_stand_in, aws_env, capsys):
    aws_env.delenv("AWS_DEFAULT_REGION")
    aws_env.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        f"aws://{CONN_KEY}:{SECRET_KEY.replace('/', '%2F')}@/?region_name=eu-west-1",
    )
    args = ["eks", "get-token", "--cluster-name", CLUSTER]
    rc, cred, err = _run(aws_stand_in, capsys, args)
    assert rc == 0, err
    host, query = _decode(cred["status"]["token"])
    assert host == "sts.eu-west-1.amazonaws.com" and query["X-Amz-Credential"][0].startswith(CONN_KEY)


def test_explicit_profile_wins_over_the_connection(aws_stand_in, aws_env, capsys, shared_dir):
    (shared_dir / "aws-credentials").write_text(
        f"[eks]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    rc, cred, err = _run(aws_stand_in, capsys, [*AWS_EXEC_ARGS, "--profile", "eks"])
    assert rc == 0, err
    assert _access_key(cred["status"]["token"]) == ACCESS_KEY


def test_default_chain_without_keys_in_the_connection(aws_stand_in, aws_env, capsys):
    aws_env.setenv("AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws", "extra": {"region_name": "us-west-2"}}')
    aws_env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    rc, cred, err = _run(aws_stand_in, capsys, AWS_EXEC_ARGS)
    assert rc == 0, err
    assert _access_key(cred["status"]["token"]) == ACCESS_KEY


def test_role_arn_signs_with_the_assumed_role(aws_stand_in, aws_env, capsys):
    from moto import mock_aws

    with mock_aws():
        rc, cred, err = _run(
            aws_stand_in, capsys, [*AWS_EXEC_ARGS, "--role-arn", "arn:aws:iam::123456789012:role/eks"]
        )
    assert rc == 0, err
    assert _access_key(cred["status"]["token"]).startswith("ASIA")  # temporary credentials


def test_no_credentials_fails_with_the_ways_to_provide_them(aws_stand_in, aws_env, capsys):
    aws_env.setenv("AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws"}')
    rc, _, err = _run(aws_stand_in, capsys, AWS_EXEC_ARGS)
    assert rc == 255
    assert "no AWS credentials" in err and "AIRFLOW_CONN_AWS_DEFAULT" in err and "hop limit" in err


def test_no_region_is_a_usage_error(aws_stand_in, aws_env, capsys):
    aws_env.delenv("AWS_DEFAULT_REGION")
    rc, _, err = _run(aws_stand_in, capsys, ["eks", "get-token", "--cluster-name", CLUSTER])
    assert rc == 2 and "no region" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["s3", "ls"], "`aws s3 ls` is not implemented"),
        (
            ["--region", REGION, "sts", "get-caller-identity"],
            "`aws sts get-caller-identity` is not implemented",
        ),
        (["eks", "get-token"], "--cluster-name --cluster-id is required"),
        ([*AWS_EXEC_ARGS, "--no-such-option", "1"], "unrecognized arguments: --no-such-option 1"),
    ],
)
def test_everything_else_is_refused_as_a_stand_in(aws_stand_in, aws_env, capsys, argv, message):
    rc, _, err = _run(aws_stand_in, capsys, argv)
    assert rc == 2
    assert message in err and "stand-in that implements only `aws eks get-token`" in err


def test_unknown_exec_api_version_is_refused(aws_stand_in, aws_env, capsys):
    aws_env.setenv("KUBERNETES_EXEC_INFO", json.dumps({"apiVersion": "client.authentication.k8s.io/v9"}))
    rc, _, err = _run(aws_stand_in, capsys, AWS_EXEC_ARGS)
    assert rc == 2 and "unsupported ExecCredential apiVersion" in err


# --- check-kubeconfig's reading of the kubeconfig (the current user's; UID checks: test_compose) ------------


@pytest.fixture
def check(check_kubeconfig, aws_env, image_bin, shared_dir):
    """``check(text, **environ)``: check-kubeconfig on ``text`` as the current user, the image's PATH."""
    import os

    aws_env.setenv("PATH", f"{image_bin}:{Path(sys.executable).parent}:/usr/bin:/bin")

    def run(text: str, **environ: str) -> str:
        path = shared_dir / "kubeconfig"
        path.write_text(text)
        return check_kubeconfig.check(path, os.geteuid(), {**os.environ, **environ})

    return run


def _two_contexts() -> str:
    import yaml

    config = yaml.safe_load(kubeconfig_text())
    config["contexts"].append(
        {"name": "sa", "context": {"cluster": config["clusters"][0]["name"], "user": "sa"}}
    )
    config["users"].append({"name": "sa", "user": {"token": "xyz"}})
    return yaml.safe_dump(config)


def test_check_follows_the_current_context(check, image_bin):
    assert check(kubeconfig_text()).endswith(f"exec plugin 'aws' -> {image_bin / 'aws'}")


def test_check_follows_the_connections_cluster_context(check):
    conn = json.dumps({"conn_type": "kubernetes", "extra": {"cluster_context": "sa"}})
    summary = check(_two_contexts(), AIRFLOW_CONN_KUBERNETES_DEFAULT=conn)
    assert "context 'sa', user 'sa', no exec plugin" in summary


def test_check_accepts_a_profile_the_containers_have(check, shared_dir):
    (shared_dir / "aws-config").write_text("[profile admin]\nregion = us-west-2\n")
    assert "exec plugin 'aws'" in check(kubeconfig_text(args=[*AWS_EXEC_ARGS, "--profile", "admin"]))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not yaml", "not valid YAML"),
        ("- a list", "not a YAML mapping"),
        (kubeconfig_text().replace("current-context:", "old-context:"), "no current-context"),
        (
            kubeconfig_text().replace("current-context: arn", "current-context: gone-arn"),
            "no context 'gone-arn",
        ),
        (kubeconfig_text().replace("- name: arn", "- name: other-arn"), "has no user 'arn:aws:eks"),
    ],
    ids=["yaml", "mapping", "no-current-context", "no-context", "no-user"],
)
def test_check_refuses_an_unusable_kubeconfig(check, check_kubeconfig, text, message):
    with pytest.raises(check_kubeconfig.KubeconfigError, match=message):
        check(text)
