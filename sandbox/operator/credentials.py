"""How the operator gets AWS credentials: IRSA, evaluated the way STS and IAM would.

On EKS the operator's pod gets a web-identity token for its service account
(iss = the cluster's OIDC issuer, sub = ``system:serviceaccount:<ns>:<sa>``, aud = ``sts.amazonaws.com``)
and calls ``sts:AssumeRoleWithWebIdentity`` on the role named in the service account's
``eks.amazonaws.com/role-arn`` annotation. moto's STS accepts anything, so this module evaluates
the role's trust policy and permissions itself: a misconfigured account then fails inside the
operator with the errors the real operator reports, not only in the pipeline's preflight.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass

from .aws import client

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True)
class Identity:
    issuer: str  # https://oidc.eks.<region>.amazonaws.com/id/<ID>
    subject: str  # system:serviceaccount:<namespace>:<service account>
    role_arn: str | None


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _action_matches(patterns, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(patterns))


def trust_allows(policy: dict, provider_arn: str, issuer_host: str, subject: str, audience: str) -> bool:
    """Would STS let this web identity assume a role with this trust policy?"""
    claims = {f"{issuer_host}:sub": subject, f"{issuer_host}:aud": audience}
    allowed = False
    for stmt in _as_list(policy.get("Statement")):
        if not _action_matches(stmt.get("Action"), WEB_IDENTITY_ACTION):
            continue
        principal = stmt.get("Principal") or {}
        federated = _as_list(principal.get("Federated")) if isinstance(principal, dict) else []
        if principal != "*" and provider_arn not in federated:
            continue
        if not _conditions_hold(stmt.get("Condition") or {}, claims):
            continue
        if stmt.get("Effect") == "Deny":
            return False
        allowed = allowed or stmt.get("Effect") == "Allow"
    return allowed


def _conditions_hold(conditions: dict, claims: dict[str, str]) -> bool:
    for operator, pairs in conditions.items():
        for key, expected in pairs.items():
            actual = claims.get(key)
            if actual is None:
                return False
            values = [str(v) for v in _as_list(expected)]
            if operator == "StringEquals" and actual not in values:
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(actual, v) for v in values):
                return False
            if operator not in ("StringEquals", "StringLike"):
                return False
    return True


def policy_allows(documents: list[dict], action: str) -> bool:
    allowed = False
    for doc in documents:
        for stmt in _as_list(doc.get("Statement")):
            if not _action_matches(stmt.get("Action"), action):
                continue
            if stmt.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


def _document(value) -> dict:
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


class CredentialChecker:
    """Answers "can the operator act?" with the real operator's error text, cached briefly."""

    def __init__(self, endpoint_url: str, region: str, cluster_name: str, ttl: float = 1.0) -> None:
        self._iam = client("iam", endpoint_url, region)
        self._eks = client("eks", endpoint_url, region)
        self._cluster = cluster_name
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[float, str | None]] = {}

    def problem(self, identity_role_arn: str | None, subject: str, action: str) -> str | None:
        """None if the operator may call `action`; otherwise the AWS SDK error the operator would log."""
        key = (identity_role_arn, subject, action)
        with self._lock:
            hit = self._cache.get(key)
            if hit and time.monotonic() - hit[0] < self._ttl:
                return hit[1]
        answer = self._evaluate(identity_role_arn, subject, action)
        with self._lock:
            self._cache[key] = (time.monotonic(), answer)
        return answer

    def _evaluate(self, role_arn: str | None, subject: str, action: str) -> str | None:
        denied = (
            "WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: "
            "Not authorized to perform sts:AssumeRoleWithWebIdentity\n\tstatus code: 403"
        )
        if not role_arn:
            return "NoCredentialProviders: no valid providers in chain. Deprecated."
        issuer = self._eks.describe_cluster(name=self._cluster)["cluster"]["identity"]["oidc"]["issuer"]
        issuer_host = issuer.removeprefix("https://")
        account = role_arn.split(":")[4]
        provider_arn = f"arn:aws:iam::{account}:oidc-provider/{issuer_host}"
        providers = {
            p["Arn"] for p in self._iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        }
        if provider_arn not in providers:
            return (
                "WebIdentityErr: failed to retrieve credentials\ncaused by: InvalidIdentityToken: "
                f"No OpenIDConnect provider found in your account for {issuer}\n\tstatus code: 400"
            )
        role_name = role_arn.split("/")[-1]
        try:
            role = self._iam.get_role(RoleName=role_name)["Role"]
        except self._iam.exceptions.NoSuchEntityException:
            return denied
        trust = _document(role["AssumeRolePolicyDocument"])
        if not trust_allows(trust, provider_arn, issuer_host, subject, AUDIENCE):
            return denied
        documents = []
        for attached in self._iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
            policy = self._iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = self._iam.get_policy_version(
                PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
            )
            documents.append(_document(version["PolicyVersion"]["Document"]))
        for name in self._iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            doc = self._iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            documents.append(_document(doc))
        if not policy_allows(documents, action):
            assumed = f"arn:aws:sts::{account}:assumed-role/{role_name}/operator"
            return (
                f"AccessDeniedException: User: {assumed} is not authorized to perform: {action}\n"
                "\tstatus code: 400"
            )
        return None
