"""IRSA names and the walkthrough's IAM documents, with real values filled in.

Shared by the trust checks (to build exact fixes) and by anyone who needs a provider ARN or a
service-account subject; pure string and dict work.
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker_k8s.constants import SAGEMAKER_SERVICE_PRINCIPAL, STS_AUDIENCE

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
ASSUME_ROLE_ACTION = "sts:AssumeRole"
ROLE_PLACEHOLDER = "<role-name>"


def issuer_host_path(issuer_url: str) -> str:
    """``https://oidc.eks.us-west-2.amazonaws.com/id/ABC/`` -> ``oidc.eks.us-west-2.amazonaws.com/id/ABC``."""
    text = issuer_url.strip()
    if text.lower().startswith("https://"):
        text = text[len("https://") :]
    return text.rstrip("/")


def oidc_provider_arn(account_id: str, issuer_url: str, partition: str = "aws") -> str:
    """The IAM OIDC provider ARN that ``eksctl utils associate-iam-oidc-provider`` creates."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{issuer_host_path(issuer_url)}"


def oidc_provider_fix(cluster_name: str, region: str) -> str:
    return f"eksctl utils associate-iam-oidc-provider --cluster {cluster_name} --region {region} --approve"


def role_name_from_arn(role_arn: str) -> str:
    """``arn:aws:iam::1:role/service-role/Name`` -> ``Name`` (IAM CLI commands take the bare name)."""
    return role_arn.rsplit("/", 1)[-1] if ":role/" in role_arn else role_arn


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def operator_trust_policy(
    provider_arn: str, issuer_url: str, namespace: str, service_account: str, audience: str = STS_AUDIENCE
) -> dict[str, Any]:
    """The walkthrough's trust.json: only this service account, only this audience."""
    issuer = issuer_host_path(issuer_url)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": WEB_IDENTITY_ACTION,
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:aud": audience,
                        f"{issuer}:sub": service_account_subject(namespace, service_account),
                    }
                },
            }
        ],
    }


def execution_trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SAGEMAKER_SERVICE_PRINCIPAL},
                "Action": ASSUME_ROLE_ACTION,
            }
        ],
    }


def _write(document: dict[str, Any], file_name: str) -> str:
    return f"cat > {file_name} <<'EOF'\n{json.dumps(document, indent=2)}\nEOF\n"


def update_trust_fix(role_name: str | None, document: dict[str, Any], file_name: str = "trust.json") -> str:
    """Shell lines that write ``document`` and apply it (quoted heredoc: nothing is expanded)."""
    return (
        f"{_write(document, file_name)}"
        f"aws iam update-assume-role-policy --role-name {role_name or ROLE_PLACEHOLDER} "
        f"--policy-document file://{file_name}"
    )


def create_role_fix(role_name: str, document: dict[str, Any], file_name: str = "trust.json") -> str:
    """Shell lines that write the trust ``document`` and create the role with it."""
    return (
        f"{_write(document, file_name)}"
        f"aws iam create-role --role-name {role_name} --assume-role-policy-document file://{file_name}"
    )
