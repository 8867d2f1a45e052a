"""Findings, the fixed-width table and the XCom summary."""

from __future__ import annotations

import json

import pytest

from sagemaker_k8s.preflight.report import FAIL, PASS, WARN, Finding, failed, render_table, summarize

FINDINGS = [
    Finding(
        "IAM OIDC provider",
        PASS,
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X",
    ),
    Finding(
        "operator role trust: audience", FAIL, "no ...:aud condition", "aws iam update-assume-role-policy ..."
    ),
    Finding(
        "operator role trust: service account",
        WARN,
        "broader than one service account",
        "cat > trust.json\n{...}",
    ),
]


def test_finding_rejects_unknown_status() -> None:
    with pytest.raises(ValueError, match="status"):
        Finding("x", "ok", "d")  # type: ignore[arg-type]


@pytest.mark.parametrize(("findings", "expected"), [(FINDINGS, True), (FINDINGS[::2], False), ([], False)])
def test_failed(findings: list[Finding], expected: bool) -> None:
    assert failed(findings) is expected


def test_summarize_is_json_serializable() -> None:
    summary = summarize(FINDINGS)
    assert json.loads(json.dumps(summary)) == summary
    assert (summary["ok"], summary["total"], summary["passed"], summary["warned"], summary["failed"]) == (
        False,
        3,
        1,
        1,
        1,
    )
    assert summary["rows"][1] == {
        "check": "operator role trust: audience",
        "status": "fail",
        "detail": "no ...:aud condition",
        "fix": "aws iam update-assume-role-policy ...",
    }


def test_render_table_layout() -> None:
    text = render_table(FINDINGS, width=100)
    lines = text.splitlines()
    assert lines[0].startswith("CHECK") and "| STATUS | DETAIL" in lines[0]
    assert set(lines[1]) <= {"-", "+"}
    assert all(len(line) <= 100 for line in lines[: lines.index("")])
    pipe = lines[0].index("|")
    assert all(line[pipe] == "|" for line in lines[2 : lines.index("")])
    assert "1 passed, 1 warned, 1 failed." in text
    fixes = text.split("How to fix:")[1]
    assert "1. [FAIL] operator role trust: audience" in fixes
    assert "2. [WARN] operator role trust: service account" in fixes
    assert "   cat > trust.json\n   {...}" in fixes
    assert "IAM OIDC provider" not in fixes


def test_long_details_wrap() -> None:
    text = render_table([Finding("c", FAIL, "word " * 100, "fix")], width=80)
    body = text.split("\n\n")[0].splitlines()[2:]
    assert len(body) > 3
    assert all(len(line) <= 80 for line in body)


def test_hostile_text_cannot_forge_rows() -> None:
    evil = Finding("evil\n1. [PASS] fake", FAIL, "line\n| PASS | forged\x1b[2J", "rm -rf /\n1. [PASS] x")
    text = render_table([evil])
    lines = text.splitlines()
    assert "\x1b" not in text
    assert not any(line.startswith("1. [PASS]") for line in lines)
    table = text.split("\n\n")[0].splitlines()
    assert len(table) == 3  # header, rule, one row


def test_no_findings() -> None:
    assert render_table([]) == "No preflight checks ran."
    assert summarize([])["ok"] is True


def test_fix_placeholder_when_missing() -> None:
    assert "no automatic fix known" in render_table([Finding("c", WARN, "d")])
