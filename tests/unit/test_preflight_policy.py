"""The IAM policy-grammar helpers used by the trust and permission checks."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from sagemaker_k8s.preflight.policy import (
    PolicyParseError,
    action_matches,
    condition_values,
    evaluate_condition,
    is_wildcard_principal,
    parse_policy,
    principal_values,
    split_operator,
    statements,
    wildcard_match,
)

DOC = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}


@pytest.mark.parametrize(
    "form", [DOC, json.dumps(DOC), quote(json.dumps(DOC)), quote(json.dumps(DOC), safe="")]
)
def test_parse_policy_forms(form: Any) -> None:
    assert parse_policy(form) == DOC


@pytest.mark.parametrize("bad", ["", "not json", "[1]", "%7B", 5, None, "null"])
def test_parse_policy_rejects(bad: Any) -> None:
    with pytest.raises(PolicyParseError):
        parse_policy(bad)


def test_statements_dict_or_list() -> None:
    assert statements(DOC) == [DOC["Statement"]]
    assert statements({"Statement": [DOC["Statement"], "junk", 5]}) == [DOC["Statement"]]
    assert statements({}) == []


@pytest.mark.parametrize(
    ("pattern", "value", "ok"),
    [
        ("a*", "abc", True),
        ("a?c", "abc", True),
        ("a?c", "abbc", False),
        ("*", "", True),
        ("a.c", "abc", False),
        ("system:serviceaccount:*:*", "system:serviceaccount:ns:sa", True),
        ("x", "x\n", False),
    ],
)
def test_wildcard_match(pattern: str, value: str, ok: bool) -> None:
    assert wildcard_match(pattern, value) is ok


@pytest.mark.parametrize(
    ("statement", "action", "ok"),
    [
        ({"Action": "sagemaker:*"}, "sagemaker:CreateTrainingJob", True),
        ({"Action": ["SageMaker:describe*"]}, "sagemaker:DescribeModel", True),
        ({"Action": "*"}, "iam:PassRole", True),
        ({"Action": "sagemaker:Describe*"}, "sagemaker:CreateModel", False),
        ({"NotAction": "iam:*"}, "sagemaker:CreateModel", True),
        ({"NotAction": ["iam:*"]}, "iam:PassRole", False),
        ({}, "x:y", False),
    ],
)
def test_action_matches(statement: dict[str, Any], action: str, ok: bool) -> None:
    assert action_matches(statement, action) is ok


def test_principals() -> None:
    assert principal_values({"Principal": {"Federated": "arn:x"}}, "Federated") == ["arn:x"]
    assert principal_values({"Principal": {"Service": ["a", "b"]}}, "Service") == ["a", "b"]
    assert principal_values({"Principal": "*"}, "AWS") == ["*"]
    assert principal_values({"Principal": "arn:odd"}, "AWS") == []
    assert is_wildcard_principal({"Principal": "*"})
    assert is_wildcard_principal({"Principal": {"AWS": ["arn:a", "*"]}})
    assert not is_wildcard_principal({"Principal": {"AWS": "arn:a"}})


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", ("", "StringEquals", False)),
        ("ForAnyValue:StringLike", ("ForAnyValue", "StringLike", False)),
        ("StringLikeIfExists", ("", "StringLike", True)),
    ],
)
def test_split_operator(operator: str, expected: tuple[str, str, bool]) -> None:
    assert split_operator(operator) == expected


CTX = {"issuer:sub": "system:serviceaccount:ns:sa", "issuer:aud": "sts.amazonaws.com"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (None, True),
        ({"StringEquals": {"issuer:sub": "system:serviceaccount:ns:sa"}}, True),
        ({"StringEquals": {"ISSUER:SUB": "system:serviceaccount:ns:sa"}}, True),  # keys are case-insensitive
        ({"StringEquals": {"issuer:sub": "system:serviceaccount:NS:sa"}}, False),  # values are not
        ({"StringEqualsIgnoreCase": {"issuer:sub": "system:serviceaccount:NS:sa"}}, True),
        ({"StringEquals": {"issuer:sub": ["x", "system:serviceaccount:ns:sa"]}}, True),
        ({"StringLike": {"issuer:sub": "system:serviceaccount:ns:*"}}, True),
        ({"StringNotEquals": {"issuer:sub": "system:serviceaccount:ns:sa"}}, False),
        ({"StringNotLike": {"issuer:sub": "x*"}}, True),
        ({"StringEquals": {"other:key": "v"}}, False),  # missing key
        ({"StringEqualsIfExists": {"other:key": "v"}}, True),
        ({"ForAllValues:StringEquals": {"other:key": "v"}}, True),
        ({"ForAnyValue:StringEquals": {"issuer:aud": "sts.amazonaws.com"}}, True),
        ({"StringEquals": {"issuer:sub": "system:serviceaccount:ns:sa", "issuer:aud": "x"}}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, None),
        ({"StringEquals": "junk"}, None),
        ("junk", None),
    ],
)
def test_evaluate_condition(condition: Any, expected: bool | None) -> None:
    assert evaluate_condition(condition, CTX) is expected


def test_condition_values() -> None:
    statement = {
        "Condition": {"StringEquals": {"Issuer:Sub": "a"}, "StringLike": {"issuer:sub": ["b*", "c"]}}
    }
    assert condition_values(statement, "issuer:sub") == [
        ("StringEquals", "a"),
        ("StringLike", "b*"),
        ("StringLike", "c"),
    ]
