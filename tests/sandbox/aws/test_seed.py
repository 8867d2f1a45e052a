"""sandbox.aws.seed: the account as the walkthrough leaves it, and each AWS-side misconfiguration."""

from __future__ import annotations

import functools
import re

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.aws import AWS_MISCONFIGURATIONS, apply_misconfiguration, seed_account

from .conftest import REGION, client

SUBJECT = "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default"
SAGEMAKER_POLICY = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"


@pytest.fixture(scope="module")
def seeded(moto):
    seed = seed_account(moto.url, region=REGION)
    return {"url": moto.url, "seed": seed, "pristine": snapshot(moto.url, seed)}


@functools.lru_cache(maxsize=16)
def account_client(url: str, service: str, account: str):
    c = boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )

    def add_account(request, **_):
        request.headers["x-moto-account-id"] = account

    c.meta.events.register("before-sign.*.*", add_account)
    return c


def snapshot(url: str, seed, account: str | None = None) -> dict:
    make = (lambda s: account_client(url, s, account)) if account else (lambda s: client(url, s))
    iam, s3, eks = make("iam"), make("s3"), make("eks")

    def trust(role: str) -> dict:
        return iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]

    def attached(role: str) -> list[str]:
        return sorted(
            p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        )

    return {
        "oidc_providers": sorted(
            p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        ),
        "operator_trust": trust("sagemaker-k8s-operator-irsa"),
        "operator_policies": attached("sagemaker-k8s-operator-irsa"),
        "execution_trust": trust("AmazonSageMaker-ExecutionRole"),
        "execution_policies": attached("AmazonSageMaker-ExecutionRole"),
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "issuer": eks.describe_cluster(name=seed.cluster_name)["cluster"]["identity"]["oidc"]["issuer"],
    }


def test_seed_result_describes_the_account(seeded):
    seed, url = seeded["seed"], seeded["url"]
    assert (seed.account, seed.region, seed.cluster_name) == (
        "123456789012",
        "us-west-2",
        "sagemaker-sandbox",
    )
    assert re.fullmatch(r"https://oidc\.eks\.us-west-2\.amazonaws\.com/id/[0-9A-F]{32}", seed.oidc_issuer)
    host = seed.oidc_issuer.removeprefix("https://")
    assert seed.oidc_provider_arn == f"arn:aws:iam::123456789012:oidc-provider/{host}"
    assert seed.operator_role_arn == "arn:aws:iam::123456789012:role/sagemaker-k8s-operator-irsa"
    assert (
        seed.execution_role_arn == "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
    )
    assert seed.bucket == "sagemaker-sandbox-123456789012"

    cluster = client(url, "eks").describe_cluster(name="sagemaker-sandbox")["cluster"]
    assert cluster["identity"]["oidc"]["issuer"] == seed.oidc_issuer
    assert cluster["version"] == "1.29"
    assert cluster["roleArn"].startswith("arn:aws:iam::123456789012:role/")
    assert cluster["status"] == "ACTIVE"

    iam = client(url, "iam")
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=seed.oidc_provider_arn)
    assert provider["Url"] == host  # IAM reports it without https://
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    assert len(provider["ThumbprintList"]) == 1 and re.fullmatch(
        r"[0-9a-f]{40}", provider["ThumbprintList"][0]
    )

    operator = iam.get_role(RoleName="sagemaker-k8s-operator-irsa")["Role"]
    assert operator["Arn"] == seed.operator_role_arn
    assert operator["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": seed.oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{host}:sub": SUBJECT, f"{host}:aud": "sts.amazonaws.com"}},
            }
        ],
    }
    execution = iam.get_role(RoleName="AmazonSageMaker-ExecutionRole")["Role"]
    assert (execution["Arn"], execution["Path"]) == (seed.execution_role_arn, "/service-role/")
    assert execution["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    pristine = seeded["pristine"]
    assert pristine["operator_policies"] == [SAGEMAKER_POLICY]
    assert pristine["execution_policies"] == [SAGEMAKER_POLICY]
    assert seed.bucket in pristine["buckets"]
    location = client(url, "s3").get_bucket_location(Bucket=seed.bucket)["LocationConstraint"]
    assert location == "us-west-2"


def test_seed_is_deterministic_and_idempotent(seeded):
    again = seed_account(seeded["url"], region=REGION)
    assert again == seeded["seed"]
    assert snapshot(seeded["url"], again) == seeded["pristine"]


def test_seed_another_account(seeded):
    other = seed_account(seeded["url"], region=REGION, account="111122223333")
    assert other.account == "111122223333"
    assert other.operator_role_arn == "arn:aws:iam::111122223333:role/sagemaker-k8s-operator-irsa"
    assert other.bucket == "sagemaker-sandbox-111122223333"
    assert other.oidc_issuer != seeded["seed"].oidc_issuer
    state = snapshot(seeded["url"], other, account="111122223333")
    assert state["issuer"] == other.oidc_issuer
    assert state["oidc_providers"] == [other.oidc_provider_arn]
    assert state["operator_policies"] == [SAGEMAKER_POLICY]


def test_misconfiguration_names():
    assert set(AWS_MISCONFIGURATIONS) == {
        "no-oidc-provider",
        "wrong-sub",
        "wrong-aud",
        "trust-too-broad",
        "wildcard-principal",
        "policy-missing",
        "execution-role-trust",
        "no-bucket",
    }
    assert all(isinstance(text, str) and text and "\n" not in text for text in AWS_MISCONFIGURATIONS.values())


def expected_change(name: str, seed, pristine: dict) -> tuple[str, object]:
    host = seed.oidc_issuer.removeprefix("https://")
    trust = pristine["operator_trust"]
    statement = trust["Statement"][0]

    def with_condition(condition: dict) -> dict:
        return {**trust, "Statement": [{**statement, "Condition": condition}]}

    if name == "no-oidc-provider":
        return "oidc_providers", []
    if name == "wrong-sub":
        wrong = "system:serviceaccount:sagemaker-k8s-operator-system:default"
        return "operator_trust", with_condition(
            {"StringEquals": {f"{host}:sub": wrong, f"{host}:aud": "sts.amazonaws.com"}}
        )
    if name == "wrong-aud":
        return "operator_trust", with_condition(
            {"StringEquals": {f"{host}:sub": SUBJECT, f"{host}:aud": "kubernetes.default.svc"}}
        )
    if name == "trust-too-broad":
        return "operator_trust", with_condition(
            {
                "StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{host}:sub": "system:serviceaccount:*:*"},
            }
        )
    if name == "wildcard-principal":
        extra = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        return "operator_trust", {**trust, "Statement": [statement, extra]}
    if name == "policy-missing":
        return "operator_policies", []
    if name == "execution-role-trust":
        return "execution_trust", {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    if name == "no-bucket":
        return "buckets", [b for b in pristine["buckets"] if b != seed.bucket]
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(AWS_MISCONFIGURATIONS))
def test_misconfiguration_changes_exactly_what_it_says(seeded, name):
    url, seed = seeded["url"], seed_account(seeded["url"], region=REGION)  # re-seeding repairs the last one
    assert seed == seeded["seed"]
    before = snapshot(url, seed)
    assert before == seeded["pristine"]
    if name == "no-bucket":
        client(url, "s3").put_object(Bucket=seed.bucket, Key="xgboost/train/examples", Body=b"1,2,3\n")
    apply_misconfiguration(url, seed, name)
    after = snapshot(url, seed)
    key, value = expected_change(name, seed, seeded["pristine"])
    assert {k for k in before if before[k] != after[k]} == {key}
    assert after[key] == value


def test_unknown_misconfiguration_is_rejected(seeded):
    with pytest.raises(ValueError, match="unknown AWS misconfiguration"):
        apply_misconfiguration(seeded["url"], seeded["seed"], "crds-missing")


def test_no_bucket_really_removes_the_bucket(seeded):
    seed = seed_account(seeded["url"], region=REGION)
    apply_misconfiguration(seeded["url"], seed, "no-bucket")
    with pytest.raises(ClientError) as e:
        client(seeded["url"], "s3").head_bucket(Bucket=seed.bucket)
    assert e.value.response["Error"]["Code"] in ("404", "NoSuchBucket")
    seed_account(seeded["url"], region=REGION)
