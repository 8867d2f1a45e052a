"""IRSA helpers: provider ARNs, subjects, and the exact fix commands."""

from __future__ import annotations

import json

import pytest

from sagemaker_k8s.preflight.irsa import (
    execution_trust_policy,
    issuer_host_path,
    oidc_provider_arn,
    oidc_provider_fix,
    operator_trust_policy,
    role_name_from_arn,
    service_account_subject,
    update_trust_fix,
)

ISSUER_URL = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"


def test_naming_helpers() -> None:
    assert issuer_host_path(ISSUER_URL + "/") == ISSUER
    assert oidc_provider_arn("123456789012", ISSUER_URL) == PROVIDER
    assert oidc_provider_arn("123456789012", ISSUER_URL, "aws-cn").startswith("arn:aws-cn:iam::123456789012:")
    assert oidc_provider_fix("my-cluster", "us-west-2") == (
        "eksctl utils associate-iam-oidc-provider --cluster my-cluster --region us-west-2 --approve"
    )
    assert role_name_from_arn(
        "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
    ) == ("AmazonSageMaker-ExecutionRole")
    assert role_name_from_arn("plain-name") == "plain-name"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-west-2", "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X"),
        (
            "cn-north-1",
            "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/X",
        ),
        (
            "us-gov-west-1",
            "arn:aws-us-gov:iam::123456789012:oidc-provider/oidc.eks.us-gov-west-1.amazonaws.com/id/X",
        ),
    ],
)
def test_oidc_provider_arn_is_in_the_regions_partition(region: str, expected: str) -> None:
    from sagemaker_k8s.manifests.images import ecr_domain, partition

    issuer = f"https://oidc.eks.{region}.{ecr_domain(region)}/id/X/"
    assert oidc_provider_arn("123456789012", issuer, partition(region)) == expected


@pytest.mark.parametrize(
    "url", [ISSUER_URL, ISSUER_URL + "/", ISSUER, "  " + ISSUER_URL + "  ", "HTTPS://" + ISSUER]
)
def test_issuer_host_path(url: str) -> None:
    assert issuer_host_path(url) == ISSUER


def test_operator_trust_policy_is_the_walkthrough_document() -> None:
    assert operator_trust_policy(PROVIDER, ISSUER_URL, "ns", "sa") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{ISSUER}:aud": "sts.amazonaws.com",
                        f"{ISSUER}:sub": "system:serviceaccount:ns:sa",
                    }
                },
            }
        ],
    }
    assert service_account_subject("ns", "sa") == "system:serviceaccount:ns:sa"


def test_update_trust_fix_uses_a_quoted_heredoc() -> None:
    fix = update_trust_fix("my-role", execution_trust_policy(), "sagemaker-trust.json")
    lines = fix.splitlines()
    assert lines[0] == "cat > sagemaker-trust.json <<'EOF'"
    assert lines[-2] == "EOF"
    assert (
        lines[-1]
        == "aws iam update-assume-role-policy --role-name my-role --policy-document file://sagemaker-trust.json"
    )
    assert json.loads("\n".join(lines[1:-2])) == execution_trust_policy()
    assert "--role-name <role-name>" in update_trust_fix(None, {})
