"""How the emulated controllers get AWS credentials: IRSA, evaluated the way STS and IAM would.

On EKS a controller's pod gets a web-identity token for its service account
(iss = the cluster's OIDC issuer, sub = ``system:serviceaccount:<ns>:<sa>``, aud = ``sts.amazonaws.com``)
and calls ``sts:AssumeRoleWithWebIdentity`` on the role named in the service account's
``eks.amazonaws.com/role-arn`` annotation. moto's STS accepts anything, so this module evaluates
the role's trust policy and permissions itself: a misconfigured account then fails inside the
controller with the errors the real one reports, not only in the pipeline's preflight.
:class:`Denial` says what failed; the legacy operator words it as the Go SDK v1 does
(:meth:`CredentialChecker.problem`), the ACK controller as the Go SDK v2 does (``sandbox/ack/errors.py``).
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
class Denial:
    """Why the controller cannot call ``action``.

    ``reason``: ``no-role`` (no role-arn annotation: no credential provider), ``no-provider`` (the account has
    no OIDC provider for the cluster's issuer: STS InvalidIdentityToken), ``trust`` (the role is missing or
    its trust policy refuses the token: STS AccessDenied) or ``permission`` (the role may not call
    ``action``: SageMaker AccessDeniedException as ``assumed_role``).
    """

    reason: str
    action: str
    issuer: str = ""
    assumed_role: str = ""

    def legacy_text(self) -> str:
        """The error as the legacy operator (aws-sdk-go v1) prints it."""
        if self.reason == "no-role":
            return "NoCredentialProviders: no valid providers in chain. Deprecated."
        if self.reason == "no-provider":
            return (
                "WebIdentityErr: failed to retrieve credentials\ncaused by: InvalidIdentityToken: "
                f"No OpenIDConnect provider found in your account for {self.issuer}\n\tstatus code: 400"
            )
        if self.reason == "trust":
            return (
                "WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: "
                "Not authorized to perform sts:AssumeRoleWithWebIdentity\n\tstatus code: 403"
            )
        return (
            f"AccessDeniedException: User: {self.assumed_role} is not authorized to perform: {self.action}\n"
            "\tstatus code: 400"
        )


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
    """Answers "can the controller act?", cached briefly."""

    def __init__(self, endpoint_url: str, region: str, cluster_name: str, ttl: float = 1.0) -> None:
        self._iam = client("iam", endpoint_url, region)
        self._eks = client("eks", endpoint_url, region)
        self._cluster = cluster_name
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[float, Denial | None]] = {}

    def forget(self) -> None:
        """Drop the cached answers (the sandbox calls it after changing IAM, so the next call sees it)."""
        with self._lock:
            self._cache.clear()

    def problem(self, identity_role_arn: str | None, subject: str, action: str) -> str | None:
        """None if the controller may call `action`; otherwise the error the legacy operator would log."""
        denial = self.denial(identity_role_arn, subject, action)
        return None if denial is None else denial.legacy_text()

    def denial(self, identity_role_arn: str | None, subject: str, action: str) -> Denial | None:
        """None if the controller may call `action`; otherwise why not."""
        key = (identity_role_arn, subject, action)
        with self._lock:
            hit = self._cache.get(key)
            if hit and time.monotonic() - hit[0] < self._ttl:
                return hit[1]
        answer = self._evaluate(identity_role_arn, subject, action)
        with self._lock:
            self._cache[key] = (time.monotonic(), answer)
        return answer

    def _evaluate(self, role_arn: str | None, subject: str, action: str) -> Denial | None:
        if not role_arn:
            return Denial("no-role", action)
        issuer = self._eks.describe_cluster(name=self._cluster)["cluster"]["identity"]["oidc"]["issuer"]
        issuer_host = issuer.removeprefix("https://")
        account = role_arn.split(":")[4]
        provider_arn = f"arn:aws:iam::{account}:oidc-provider/{issuer_host}"
        providers = {
            p["Arn"] for p in self._iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        }
        if provider_arn not in providers:
            return Denial("no-provider", action, issuer=issuer)
        role_name = role_arn.split("/")[-1]
        try:
            role = self._iam.get_role(RoleName=role_name)["Role"]
        except self._iam.exceptions.NoSuchEntityException:
            return Denial("trust", action, issuer=issuer)
        trust = _document(role["AssumeRolePolicyDocument"])
        if not trust_allows(trust, provider_arn, issuer_host, subject, AUDIENCE):
            return Denial("trust", action, issuer=issuer)
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
            return Denial("permission", action, issuer=issuer, assumed_role=assumed)
        return None
