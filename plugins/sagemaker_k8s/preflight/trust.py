"""Judge IAM trust policies: can the operator's service account assume its role (IRSA), and can
SageMaker assume the execution role? Pure: the hooks fetch the documents, this module decides.

Decisions: a wildcard principal (``"*"``, ``{"AWS": "*"}``, ...) in an Allow is a **fail** when
the statement has no condition (anyone in any account can assume the role) and a **warn** when it
has one (it may be scoped, e.g. by ``aws:PrincipalOrgID``, but deserves a look). A trust policy
without a ``:sub`` condition, or whose ``StringLike`` patterns also match other service accounts,
works but is a **warn** ("broader than one service account"); a missing ``:aud`` condition is a
**fail**, as in the walkthrough and ``eksctl``'s policies. An applicable explicit Deny is a fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagemaker_k8s.constants import SAGEMAKER_SERVICE_PRINCIPAL, STS_AUDIENCE
from sagemaker_k8s.preflight.irsa import (
    ASSUME_ROLE_ACTION,
    WEB_IDENTITY_ACTION,
    create_role_fix,
    execution_trust_policy,
    issuer_host_path,
    oidc_provider_arn,
    oidc_provider_fix,
    operator_trust_policy,
    role_name_from_arn,
    service_account_subject,
    update_trust_fix,
)
from sagemaker_k8s.preflight.permissions import check_sagemaker_permissions
from sagemaker_k8s.preflight.policy import (
    PolicyParseError,
    action_matches,
    condition_keys,
    condition_values,
    effect,
    evaluate_condition,
    is_wildcard_principal,
    parse_policy,
    principal_values,
    statements,
)
from sagemaker_k8s.preflight.report import FAIL, PASS, WARN, Finding

__all__ = [
    "check_execution_role_trust",
    "check_operator_trust",
    "check_sagemaker_permissions",  # re-exported: the preflight imports all IAM checks from here
    "create_role_fix",
    "issuer_host_path",
    "oidc_provider_arn",
    "oidc_provider_fix",
    "operator_trust_policy",
    "role_name_from_arn",
]


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _only(condition: Any, suffix: str) -> dict[str, Any]:
    """The part of a ``Condition`` block testing keys that end in ``suffix`` (``:sub``/``:aud``).

    Keys of *any* issuer are kept: a ``<other issuer>:sub`` condition is absent from this
    cluster's tokens, so IAM evaluates it as false -- the statement does not apply.
    """
    out: dict[str, Any] = {}
    for operator, block in condition.items() if isinstance(condition, Mapping) else ():
        if isinstance(block, Mapping):
            kept = {k: v for k, v in block.items() if str(k).lower().endswith(suffix)}
            if kept:
                out[operator] = kept
    return out


def _wildcard_findings(stmts: list[dict[str, Any]], prefix: str, fix: str) -> list[Finding]:
    wild = [s for s in stmts if effect(s) == "Allow" and is_wildcard_principal(s)]
    if not wild:
        return []
    unconditioned = [s for s in wild if not s.get("Condition")]
    status = FAIL if unconditioned else WARN
    keys = sorted({k for s in wild for k in condition_keys(s)})
    detail = "an Allow statement has a wildcard principal" + (
        " and no condition: any AWS principal can assume this role"
        if unconditioned
        else f"; it is limited only by conditions on {keys}"
    )
    return [Finding(f"{prefix}: wildcard principal", status, detail, fix)]


def check_operator_trust(
    policy: Mapping[str, Any] | str,
    *,
    provider_arn: str,
    issuer_url: str,
    namespace: str,
    service_account: str,
    audience: str = STS_AUDIENCE,
    role_name: str | None = None,
    label: str = "operator",
) -> list[Finding]:
    """May ``system:serviceaccount:<namespace>:<service_account>`` assume the role via the OIDC provider?

    ``label`` names whose role it is in the rows (``operator``, ``ACK controller``); the subject,
    and so the fix, is the ``namespace``/``service_account`` given.
    """
    prefix = f"{label} role trust"
    issuer = issuer_host_path(issuer_url)
    sub_key, aud_key = f"{issuer}:sub", f"{issuer}:aud"
    subject = service_account_subject(namespace, service_account)
    fix = update_trust_fix(
        role_name, operator_trust_policy(provider_arn, issuer_url, namespace, service_account, audience)
    )
    try:
        stmts = statements(parse_policy(policy))
    except PolicyParseError as e:
        return [Finding(f"{prefix}: OIDC provider", FAIL, f"cannot read the trust policy: {e}", fix)]
    findings = _wildcard_findings(stmts, prefix, fix)
    context = {sub_key: subject, aud_key: audience}
    for deny in (
        s
        for s in stmts
        if effect(s) == "Deny"
        and action_matches(s, WEB_IDENTITY_ACTION)
        and (provider_arn in principal_values(s, "Federated") or is_wildcard_principal(s))
    ):
        applies = evaluate_condition(deny.get("Condition"), context)
        if applies is not False:
            findings.append(
                Finding(
                    f"{prefix}: explicit Deny",
                    FAIL if applies else WARN,
                    f"a Deny statement {'blocks' if applies else 'may block'} {subject}",
                    fix,
                )
            )
    web = [s for s in stmts if effect(s) == "Allow" and action_matches(s, WEB_IDENTITY_ACTION)]
    mine = [s for s in web if provider_arn in principal_values(s, "Federated")]
    if not mine:
        others = sorted({p for s in web for p in principal_values(s, "Federated")})
        detail = f"no Allow of {WEB_IDENTITY_ACTION} for Federated principal {provider_arn}"
        detail += f"; it trusts {_short(others)} instead" if others else ""
        return [Finding(f"{prefix}: OIDC provider", FAIL, detail, fix), *findings]
    findings.insert(0, Finding(f"{prefix}: OIDC provider", PASS, f"trusts {provider_arn}"))
    findings.insert(1, _subject_finding(prefix, mine, sub_key, subject, namespace, service_account, fix))
    matching = [s for s in mine if evaluate_condition(_only(s.get("Condition"), ":sub"), {sub_key: subject})]
    findings.insert(2, _audience_finding(prefix, matching or mine, aud_key, audience, fix))
    if matching and not any(evaluate_condition(s.get("Condition"), context) for s in matching):
        keys = sorted({k for s in matching for k in condition_keys(s)} - {sub_key, aud_key})
        if keys:
            findings.append(
                Finding(
                    f"{prefix}: other conditions",
                    WARN,
                    f"conditions on {_short(keys)} must also hold for the {label}'s token",
                    fix,
                )
            )
    return findings


def _subject_finding(
    prefix: str,
    mine: list[dict[str, Any]],
    sub_key: str,
    subject: str,
    namespace: str,
    service_account: str,
    fix: str,
) -> Finding:
    check = f"{prefix}: service account"
    pairs = [pair for s in mine for pair in condition_values(s, sub_key)]
    found = [v for _, v in pairs]
    matching = [s for s in mine if evaluate_condition(_only(s.get("Condition"), ":sub"), {sub_key: subject})]
    if not matching:
        elsewhere = sorted(
            {
                k
                for s in mine
                for k in condition_keys(s)
                if k.lower().endswith(":sub") and k.lower() != sub_key.lower()
            }
        )
        detail = f"no statement allows {subject}; {sub_key} is {_short(found) if found else 'not matched'}"
        detail += f"; conditions name another issuer: {_short(elsewhere)}" if elsewhere else ""
        return Finding(check, FAIL, detail, fix)
    probes = (
        service_account_subject(namespace, f"{service_account}-other"),
        service_account_subject(f"{namespace}-other", service_account),
    )
    broad = [
        s for s in mine for p in probes if evaluate_condition(_only(s.get("Condition"), ":sub"), {sub_key: p})
    ]
    others = [v for op, v in pairs if "Not" not in op and v != subject]
    if broad or others:
        what = f"{sub_key} allows {_short(found)}" if found else f"no {sub_key} condition"
        return Finding(check, WARN, f"broader than one service account: {what}; only {subject} needs it", fix)
    return Finding(check, PASS, f"only {subject} may assume the role")


def _audience_finding(
    prefix: str, stmts: list[dict[str, Any]], aud_key: str, audience: str, fix: str
) -> Finding:
    check = f"{prefix}: audience"
    found = [v for s in stmts for _, v in condition_values(s, aud_key)]
    if not found:
        return Finding(check, FAIL, f"no {aud_key} condition; expected {audience!r}", fix)
    if any(evaluate_condition(_only(s.get("Condition"), ":aud"), {aud_key: audience}) for s in stmts):
        return Finding(check, PASS, f"{aud_key} is {audience!r}")
    return Finding(check, FAIL, f"{aud_key} is {_short(found)}, expected {audience!r}", fix)


def check_execution_role_trust(policy: Mapping[str, Any] | str, role_name: str) -> list[Finding]:
    """Can SageMaker (``sagemaker.amazonaws.com``) assume the execution role?"""
    prefix = "execution role trust"
    check = f"{prefix}: {SAGEMAKER_SERVICE_PRINCIPAL}"
    fix = update_trust_fix(role_name, execution_trust_policy(), "sagemaker-trust.json")
    try:
        stmts = statements(parse_policy(policy))
    except PolicyParseError as e:
        return [Finding(check, FAIL, f"cannot read the trust policy: {e}", fix)]
    findings = _wildcard_findings(stmts, prefix, fix)
    relevant = [
        s
        for s in stmts
        if action_matches(s, ASSUME_ROLE_ACTION)
        and SAGEMAKER_SERVICE_PRINCIPAL in principal_values(s, "Service")
    ]
    denies = [s for s in relevant if effect(s) == "Deny" and not s.get("Condition")]
    allows = [s for s in relevant if effect(s) == "Allow"]
    if denies:
        return [
            Finding(check, FAIL, f"an unconditional Deny blocks {SAGEMAKER_SERVICE_PRINCIPAL}", fix),
            *findings,
        ]
    if not allows:
        services = sorted({p for s in stmts for p in principal_values(s, "Service")})
        detail = f"{role_name} does not trust {SAGEMAKER_SERVICE_PRINCIPAL} for {ASSUME_ROLE_ACTION}"
        detail += f" (trusted services: {_short(services)})" if services else ""
        return [Finding(check, FAIL, detail, fix), *findings]
    keys = sorted({k for s in allows for k in condition_keys(s)})
    detail = f"{role_name} trusts {SAGEMAKER_SERVICE_PRINCIPAL}"
    detail += f" under conditions on {_short(keys)} (e.g. confused-deputy guards)" if keys else ""
    return [Finding(check, PASS, detail), *findings]
