"""Operator (IRSA) and execution-role trust checks on literal policy documents."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

import pytest

from sagemaker_k8s.constants import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT
from sagemaker_k8s.preflight.report import FAIL, PASS, WARN, Finding
from sagemaker_k8s.preflight.trust import (
    check_execution_role_trust,
    check_operator_trust,
    operator_trust_policy,
)

ISSUER_URL = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
SUBJECT = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"
KW = {
    "provider_arn": PROVIDER,
    "issuer_url": ISSUER_URL,
    "namespace": OPERATOR_NAMESPACE,
    "service_account": OPERATOR_SERVICE_ACCOUNT,
    "role_name": "sagemaker-operator-role",
}


def walkthrough() -> dict[str, Any]:
    return operator_trust_policy(PROVIDER, ISSUER_URL, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)


def with_condition(condition: dict[str, Any]) -> dict[str, Any]:
    policy = walkthrough()
    policy["Statement"][0]["Condition"] = condition
    return policy


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check.split(": ", 1)[1]: f for f in findings}


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {k: f.status for k, f in by_check(findings).items()}


ALL_PASS = {"OIDC provider": PASS, "service account": PASS, "audience": PASS}


def test_walkthrough_policy_passes() -> None:
    assert statuses(check_operator_trust(walkthrough(), **KW)) == ALL_PASS


@pytest.mark.parametrize(
    "form",
    [
        json.dumps(walkthrough()),
        quote(json.dumps(walkthrough())),
        {**walkthrough(), "Statement": walkthrough()["Statement"][0]},
        {
            **walkthrough(),
            "Statement": [{**walkthrough()["Statement"][0], "Action": ["sts:AssumeRoleWithWebIdentity"]}],
        },
        {
            **walkthrough(),
            "Statement": [{**walkthrough()["Statement"][0], "Principal": {"Federated": [PROVIDER]}}],
        },
        {**walkthrough(), "Statement": [{**walkthrough()["Statement"][0], "Action": "sts:*"}]},
    ],
)
def test_policy_shapes(form: Any) -> None:
    assert statuses(check_operator_trust(form, **KW)) == ALL_PASS


@pytest.mark.parametrize("issuer_url", [ISSUER_URL + "/", ISSUER, "HTTPS://" + ISSUER])
def test_issuer_url_forms(issuer_url: str) -> None:
    assert statuses(check_operator_trust(walkthrough(), **{**KW, "issuer_url": issuer_url})) == ALL_PASS


def test_wrong_provider_fails_and_names_what_is_trusted() -> None:
    other = PROVIDER.replace("EXAMPLED", "OTHERCLU")
    policy = operator_trust_policy(other, ISSUER_URL, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)
    found = by_check(check_operator_trust(policy, **KW))
    assert found["OIDC provider"].status == FAIL
    assert other in found["OIDC provider"].detail
    assert "service account" not in found


def test_sub_mismatch_names_found_value() -> None:
    policy = operator_trust_policy(PROVIDER, ISSUER_URL, "default", "my-sa")
    found = by_check(check_operator_trust(policy, **KW))
    assert found["service account"].status == FAIL
    assert "system:serviceaccount:default:my-sa" in found["service account"].detail
    assert SUBJECT in found["service account"].detail


@pytest.mark.parametrize(
    "condition",
    [
        {
            "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*:*"},
        },
        {
            "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{ISSUER}:sub": f"system:serviceaccount:{OPERATOR_NAMESPACE}:*"},
        },
        {
            "StringEquals": {
                f"{ISSUER}:aud": "sts.amazonaws.com",
                f"{ISSUER}:sub": [SUBJECT, "system:serviceaccount:x:y"],
            }
        },
        {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}},  # no sub condition at all
    ],
)
def test_broader_than_one_service_account_warns(condition: dict[str, Any]) -> None:
    found = by_check(check_operator_trust(with_condition(condition), **KW))
    assert found["service account"].status == WARN
    assert "broader than one service account" in found["service account"].detail
    assert found["audience"].status == PASS


def test_string_like_without_wildcard_passes() -> None:
    condition = {
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
        "StringLike": {f"{ISSUER}:sub": SUBJECT},
    }
    assert statuses(check_operator_trust(with_condition(condition), **KW)) == ALL_PASS


@pytest.mark.parametrize(
    ("condition", "needle"),
    [
        ({"StringEquals": {f"{ISSUER}:sub": SUBJECT}}, "no "),
        (
            {"StringEquals": {f"{ISSUER}:sub": SUBJECT, f"{ISSUER}:aud": "sts.amazonaws.com.evil"}},
            "sts.amazonaws.com.evil",
        ),
    ],
)
def test_audience_missing_or_wrong_fails(condition: dict[str, Any], needle: str) -> None:
    found = by_check(check_operator_trust(with_condition(condition), **KW))
    assert found["service account"].status == PASS
    assert found["audience"].status == FAIL
    assert needle in found["audience"].detail


def test_for_any_value_operators_do_not_crash() -> None:
    condition = {
        "ForAnyValue:StringEquals": {f"{ISSUER}:sub": SUBJECT, f"{ISSUER}:aud": ["sts.amazonaws.com"]}
    }
    assert statuses(check_operator_trust(with_condition(condition), **KW)) == ALL_PASS


def test_unknown_operator_on_sub_fails_without_crashing() -> None:
    condition = {
        "ArnLike": {f"{ISSUER}:sub": SUBJECT},
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
    }
    assert by_check(check_operator_trust(with_condition(condition), **KW))["service account"].status == FAIL


def test_conditions_for_another_issuer_are_named() -> None:
    other = ISSUER.replace("EXAMPLED", "OTHERCLU")
    condition = {"StringEquals": {f"{other}:sub": SUBJECT, f"{other}:aud": "sts.amazonaws.com"}}
    found = by_check(check_operator_trust(with_condition(condition), **KW))
    assert found["service account"].status == FAIL
    assert other in found["service account"].detail
    assert found["audience"].status == FAIL


def test_explicit_deny_is_respected() -> None:
    policy = walkthrough()
    policy["Statement"].append(
        {"Effect": "Deny", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity"}
    )
    assert by_check(check_operator_trust(policy, **KW))["explicit Deny"].status == FAIL


def test_deny_for_other_subject_does_not_apply() -> None:
    policy = walkthrough()
    policy["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:*",
            "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:x:y"}},
        }
    )
    assert statuses(check_operator_trust(policy, **KW)) == ALL_PASS


@pytest.mark.parametrize(
    ("principal", "condition", "status"),
    [
        ("*", None, FAIL),
        ({"AWS": "*"}, None, FAIL),
        ({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}, WARN),
    ],
)
def test_wildcard_principal(principal: Any, condition: Any, status: str) -> None:
    policy = walkthrough()
    extra: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        extra["Condition"] = condition
    policy["Statement"].append(extra)
    found = by_check(check_operator_trust(policy, **KW))
    assert found["wildcard principal"].status == status
    assert found["service account"].status == PASS


def test_extra_unsatisfiable_conditions_warn() -> None:
    condition = copy.deepcopy(walkthrough()["Statement"][0]["Condition"])
    condition["IpAddress"] = {"aws:SourceIp": "10.0.0.0/8"}
    found = by_check(check_operator_trust(with_condition(condition), **KW))
    assert found["other conditions"].status == WARN
    assert "aws:SourceIp" in found["other conditions"].detail


@pytest.mark.parametrize("policy", ["not json", "", "%%%", "[]"])
def test_unreadable_policy_fails(policy: str) -> None:
    findings = check_operator_trust(policy, **KW)
    assert [f.status for f in findings] == [FAIL]
    assert "cannot read" in findings[0].detail


def test_fix_is_exact_and_fixes_the_problem() -> None:
    findings = check_operator_trust(operator_trust_policy(PROVIDER, ISSUER_URL, "default", "x"), **KW)
    fix = by_check(findings)["service account"].fix
    assert fix.startswith("cat > trust.json <<'EOF'\n")
    assert fix.endswith(
        "aws iam update-assume-role-policy --role-name sagemaker-operator-role "
        "--policy-document file://trust.json"
    )
    document = json.loads(fix.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0])
    assert document["Statement"][0]["Condition"]["StringEquals"] == {
        f"{ISSUER}:aud": "sts.amazonaws.com",
        f"{ISSUER}:sub": SUBJECT,
    }
    assert statuses(check_operator_trust(document, **KW)) == ALL_PASS


def test_role_placeholder_when_unknown() -> None:
    kw = {k: v for k, v in KW.items() if k != "role_name"}
    fix = check_operator_trust({}, **kw)[0].fix
    assert "--role-name <role-name>" in fix


def test_hostile_values_in_policy_stay_inside_detail() -> None:
    evil = "system:serviceaccount:x:y\n| PASS | forged {{ x }}"
    findings = check_operator_trust(with_condition({"StringEquals": {f"{ISSUER}:sub": evil}}), **KW)
    detail = by_check(findings)["service account"].detail
    assert "\n" not in detail and "\\n" in detail


EXEC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.mark.parametrize(
    "policy",
    [
        EXEC,
        json.dumps(EXEC),
        quote(json.dumps(EXEC)),
        {"Statement": {**EXEC["Statement"][0], "Action": ["sts:AssumeRole", "sts:TagSession"]}},
        {
            "Statement": {
                **EXEC["Statement"][0],
                "Principal": {"Service": ["ec2.amazonaws.com", "sagemaker.amazonaws.com"]},
            }
        },
    ],
)
def test_execution_role_trust_passes(policy: Any) -> None:
    findings = check_execution_role_trust(policy, "AmazonSageMaker-ExecutionRole")
    assert [f.status for f in findings] == [PASS]


def test_execution_role_conditions_are_noted() -> None:
    policy = copy.deepcopy(EXEC)
    policy["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    findings = check_execution_role_trust(policy, "r")
    assert findings[0].status == PASS and "aws:SourceAccount" in findings[0].detail


@pytest.mark.parametrize(
    ("policy", "needle"),
    [
        (
            {"Statement": [{**EXEC["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}]},
            "ec2.amazonaws.com",
        ),
        (
            {"Statement": [{**EXEC["Statement"][0], "Action": "sts:AssumeRoleWithWebIdentity"}]},
            "does not trust",
        ),
        ({"Statement": [EXEC["Statement"][0], {**EXEC["Statement"][0], "Effect": "Deny"}]}, "Deny"),
        ("garbage", "cannot read"),
    ],
)
def test_execution_role_trust_fails(policy: Any, needle: str) -> None:
    findings = check_execution_role_trust(policy, "my-exec-role")
    assert findings[0].status == FAIL
    assert needle in findings[0].detail
    assert "--role-name my-exec-role --policy-document file://sagemaker-trust.json" in findings[0].fix
    document = json.loads(findings[0].fix.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0])
    assert check_execution_role_trust(document, "my-exec-role")[0].status == PASS
