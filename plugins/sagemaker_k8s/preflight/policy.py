"""Just enough of IAM's policy grammar to judge trust and permission policies offline.

Handles the shapes real documents take: a dict or URL-encoded JSON string, ``Statement`` as a
dict or list, ``Action``/``NotAction`` and principal values as a string or list, IAM wildcards
(``*``, ``?``, case-insensitive for actions) and the string condition operators with their
``ForAnyValue:``/``ForAllValues:`` prefixes and ``IfExists`` suffix. Anything else is reported
as "cannot evaluate" (``None``) rather than guessed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote


class PolicyParseError(ValueError):
    """The document is not a JSON policy object."""


def parse_policy(policy: Mapping[str, Any] | str) -> dict[str, Any]:
    """A policy as a dict; accepts a dict, JSON text, or URL-encoded JSON (as raw IAM APIs return)."""
    if isinstance(policy, Mapping):
        return dict(policy)
    if not isinstance(policy, str):
        raise PolicyParseError(f"a policy must be a dict or JSON text, got {type(policy).__name__}")
    for text in (policy, unquote(policy)):
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    raise PolicyParseError("the policy is not a JSON object (neither plain nor URL-encoded)")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The policy's statements as a list of dicts (malformed entries dropped)."""
    return [s for s in as_list(policy.get("Statement")) if isinstance(s, Mapping)]


@functools.lru_cache(maxsize=512)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM ``*``/``?`` matching of the whole value."""
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def action_matches(statement: Mapping[str, Any], action: str) -> bool:
    """Does the statement cover ``action`` (``Action`` patterns, or everything outside ``NotAction``)?"""
    if "NotAction" in statement:
        return not any(
            wildcard_match(str(p), action, ignore_case=True) for p in as_list(statement["NotAction"])
        )
    return any(wildcard_match(str(p), action, ignore_case=True) for p in as_list(statement.get("Action")))


def principal_values(statement: Mapping[str, Any], principal_type: str) -> list[str]:
    """Principal entries of one type (``Federated``, ``Service``, ``AWS``); ``"*"`` counts for every type."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, Mapping):
        return []
    return [str(v) for v in as_list(principal.get(principal_type))]


def is_wildcard_principal(statement: Mapping[str, Any]) -> bool:
    """``"Principal": "*"`` or any principal type listing ``"*"`` -- anyone can use the statement."""
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and any("*" in as_list(v) for v in principal.values())


def effect(statement: Mapping[str, Any]) -> str:
    return str(statement.get("Effect", "")).capitalize()


_STRING_OPS = {
    "StringEquals": lambda p, v: p == v,
    "StringNotEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringNotEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: wildcard_match(p, v),
    "StringNotLike": lambda p, v: wildcard_match(p, v),
}


def split_operator(operator: str) -> tuple[str, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> (``ForAnyValue``, ``StringLike``, True)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    return qualifier, base.removesuffix("IfExists"), if_exists


def evaluate_condition(condition: Any, context: Mapping[str, str]) -> bool | None:
    """IAM evaluation of a ``Condition`` block for a request whose single-valued keys are ``context``.

    Keys compare case-insensitively (as IAM does). Returns ``None`` when an operator is not a
    string operator this module understands.
    """
    if condition is None:
        return True
    if not isinstance(condition, Mapping):
        return None
    ctx = {k.lower(): v for k, v in context.items()}
    for operator, block in condition.items():
        qualifier, base, if_exists = split_operator(str(operator))
        if base not in _STRING_OPS or not isinstance(block, Mapping):
            return None
        negated = "Not" in base
        for key, values in block.items():
            actual = ctx.get(str(key).lower())
            if actual is None:
                ok = if_exists or negated or qualifier == "ForAllValues"
            else:
                hit = any(_STRING_OPS[base](str(p), actual) for p in as_list(values))
                ok = not hit if negated else hit
            if not ok:
                return False
    return True


def condition_values(statement: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    """Every (operator, value) the statement's ``Condition`` attaches to ``key`` (case-insensitive)."""
    found = []
    condition = statement.get("Condition")
    for operator, block in condition.items() if isinstance(condition, Mapping) else ():
        for k, values in block.items() if isinstance(block, Mapping) else ():
            if str(k).lower() == key.lower():
                found += [(str(operator), str(v)) for v in as_list(values)]
    return found


def condition_keys(statement: Mapping[str, Any]) -> list[str]:
    condition = statement.get("Condition")
    return [
        str(k)
        for block in (condition.values() if isinstance(condition, Mapping) else ())
        if isinstance(block, Mapping)
        for k in block
    ]
