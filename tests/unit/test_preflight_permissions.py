"""Operator permission checks: managed policy or equivalent statements, wildcards and Deny honoured."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_k8s.preflight.permissions import (
    OPERATOR_SAGEMAKER_ACTIONS,
    check_sagemaker_permissions,
    full_access_arn,
    operator_actions,
)
from sagemaker_k8s.preflight.report import FAIL, PASS
from sagemaker_k8s.preflight.trust import check_sagemaker_permissions as reexported

FULL = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def statuses(findings: list) -> list[str]:
    return [f.status for f in findings]


@pytest.mark.parametrize(
    "arns",
    [
        [FULL],
        ["arn:aws:iam::aws:policy/ReadOnlyAccess", FULL],
        ["arn:aws-cn:iam::aws:policy/AmazonSageMakerFullAccess"],
    ],
)
def test_managed_policy_passes(arns: list[str]) -> None:
    assert statuses(check_sagemaker_permissions(arns, [])) == [PASS, PASS]


def test_customer_policy_with_same_name_does_not_count() -> None:
    findings = check_sagemaker_permissions(["arn:aws:iam::123456789012:policy/AmazonSageMakerFullAccess"], [])
    assert statuses(findings) == [FAIL, FAIL]


@pytest.mark.parametrize(
    "documents",
    [
        [doc(allow("sagemaker:*"), allow("iam:PassRole"))],
        [
            doc(
                allow(
                    [
                        "sagemaker:Describe*",
                        "sagemaker:Create*",
                        "sagemaker:Delete*",
                        "sagemaker:StopTrainingJob",
                        "sagemaker:UpdateEndpoint",
                    ]
                )
            ),
            doc(allow("iam:PassRole", "arn:aws:iam::1:role/x")),
        ],
        [doc(allow([*OPERATOR_SAGEMAKER_ACTIONS, "iam:PassRole"]))],
        [doc(allow("*"))],
        [{"Statement": allow(["SAGEMAKER:*", "IAM:PASSROLE"])}],
        [doc({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})],
    ],
)
def test_equivalent_statements_pass(documents: list[dict[str, Any]]) -> None:
    assert statuses(check_sagemaker_permissions([], documents)) == [PASS, PASS]


def test_missing_actions_are_listed() -> None:
    findings = check_sagemaker_permissions(
        [], [doc(allow("sagemaker:Describe*"), allow("iam:PassRole"))], role_name="op-role"
    )
    assert statuses(findings) == [FAIL, PASS]
    assert "sagemaker:CreateTrainingJob" in findings[0].detail
    assert "sagemaker:DescribeModel" not in findings[0].detail
    assert findings[0].fix == f"aws iam attach-role-policy --role-name op-role --policy-arn {FULL}"


def test_unconditional_deny_wins() -> None:
    documents = [
        doc(
            allow("sagemaker:*"),
            allow("iam:PassRole"),
            {"Effect": "Deny", "Action": "sagemaker:Delete*", "Resource": "*"},
        )
    ]
    findings = check_sagemaker_permissions([], documents)
    assert statuses(findings) == [FAIL, PASS]
    assert "sagemaker:DeleteEndpoint" in findings[0].detail


def test_conditional_or_scoped_deny_is_not_counted() -> None:
    documents = [
        doc(
            allow("sagemaker:*"),
            allow("iam:PassRole"),
            {
                "Effect": "Deny",
                "Action": "sagemaker:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            },
            {"Effect": "Deny", "Action": "sagemaker:*", "Resource": "arn:aws:sagemaker:*:*:endpoint/prod-*"},
        )
    ]
    assert statuses(check_sagemaker_permissions([], documents)) == [PASS, PASS]


def test_pass_role_missing() -> None:
    findings = check_sagemaker_permissions([], [doc(allow("sagemaker:*"))])
    assert statuses(findings) == [PASS, FAIL]
    assert "iam:PassRole" in findings[1].detail


@pytest.mark.parametrize("bad", ["not json", "%7Bbroken", 5])
def test_unreadable_documents_are_noted(bad: Any) -> None:
    findings = check_sagemaker_permissions([], [bad, doc(allow("sagemaker:*"), allow("iam:PassRole"))])
    assert statuses(findings) == [PASS, PASS]
    assert "policy document #1 ignored" in findings[0].detail


def test_nothing_at_all() -> None:
    findings = check_sagemaker_permissions([], [])
    assert statuses(findings) == [FAIL, FAIL]
    assert "<role-name>" in findings[0].fix


def test_helpers() -> None:
    assert full_access_arn() == FULL
    assert full_access_arn("aws-us-gov") == "arn:aws-us-gov:iam::aws:policy/AmazonSageMakerFullAccess"
    assert reexported is check_sagemaker_permissions
    assert len(OPERATOR_SAGEMAKER_ACTIONS) == 13


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_the_fix_attaches_the_managed_policy_of_the_roles_partition(partition: str) -> None:
    sm, _ = check_sagemaker_permissions([], [], role_name="r", partition=partition)
    assert sm.fix == f"aws iam attach-role-policy --role-name r --policy-arn {full_access_arn(partition)}"
    assert full_access_arn(partition) == f"arn:{partition}:iam::aws:policy/AmazonSageMakerFullAccess"
    assert statuses(check_sagemaker_permissions([full_access_arn(partition)], [])) == [PASS, PASS]


@pytest.mark.parametrize(
    ("tuning", "batch", "needed"),
    [
        (True, False, "sagemaker:CreateHyperParameterTuningJob"),
        (False, True, "sagemaker:CreateTransformJob"),
    ],
)
def test_tuning_and_batch_scoring_need_their_actions(tuning, batch, needed):
    actions = operator_actions(tuning=tuning, batch_scoring=batch)
    only_training = [doc(allow([*OPERATOR_SAGEMAKER_ACTIONS, "iam:PassRole"]))]
    sm, _ = check_sagemaker_permissions([], only_training, actions=actions)
    assert sm.status == FAIL and needed in sm.detail
    assert statuses(
        check_sagemaker_permissions([], [doc(allow([*actions, "iam:PassRole"]))], actions=actions)
    ) == [
        PASS,
        PASS,
    ]
    assert operator_actions() == OPERATOR_SAGEMAKER_ACTIONS
