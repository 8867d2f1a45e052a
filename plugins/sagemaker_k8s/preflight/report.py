"""Preflight findings: one row per check, rendered as a table for the log and a dict for XCom.

Every failed or warned finding carries a ``fix``: the exact command or policy change, with the
real names filled in, so the person reading the log can act without looking anything up.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

PASS: Literal["pass"] = "pass"  # noqa: S105 - a status, not a secret
FAIL: Literal["fail"] = "fail"
WARN: Literal["warn"] = "warn"
STATUSES = frozenset({PASS, FAIL, WARN})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Finding:
    """The outcome of one preflight check."""

    check: str
    status: Literal["pass", "fail", "warn"]
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Finding status must be one of {sorted(STATUSES)}, got {self.status!r}")

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def failed(findings: Iterable[Finding]) -> bool:
    """True when any finding failed (warnings do not block the pipeline)."""
    return any(f.status == FAIL for f in findings)


def summarize(findings: Sequence[Finding]) -> dict[str, Any]:
    """JSON-serializable summary for XCom: counts and every row."""
    counts = {s: sum(1 for f in findings if f.status == s) for s in (PASS, WARN, FAIL)}
    return {
        "ok": counts[FAIL] == 0,
        "total": len(findings),
        "passed": counts[PASS],
        "warned": counts[WARN],
        "failed": counts[FAIL],
        "rows": [f.to_dict() for f in findings],
    }


def _one_line(text: str) -> str:
    """Collapse whitespace and neutralise control characters, so data cannot forge table rows."""
    return " ".join(_CONTROL.sub("?", text).split())


def render_table(findings: Sequence[Finding], *, width: int = 110) -> str:
    """A fixed-width ``check | status | detail`` table, then "How to fix" for each fail/warn row."""
    if not findings:
        return "No preflight checks ran."
    check_w = min(max(len("CHECK"), *(len(_one_line(f.check)) for f in findings)), 40)
    status_w = len("STATUS")
    detail_w = max(width - check_w - status_w - 6, 20)
    rule = f"{'-' * check_w}-+-{'-' * status_w}-+-{'-' * detail_w}"
    lines = [f"{'CHECK':<{check_w}} | {'STATUS':<{status_w}} | DETAIL", rule]
    for f in findings:
        check = textwrap.wrap(_one_line(f.check), check_w) or [""]
        detail = textwrap.wrap(_one_line(f.detail), detail_w) or [""]
        for i in range(max(len(check), len(detail))):
            left = check[i] if i < len(check) else ""
            status = f.status.upper() if i == 0 else ""
            right = detail[i] if i < len(detail) else ""
            lines.append(f"{left:<{check_w}} | {status:<{status_w}} | {right}".rstrip())
    to_fix = [f for f in findings if f.status != PASS]
    counts = summarize(findings)
    lines += ["", f"{counts['passed']} passed, {counts['warned']} warned, {counts['failed']} failed."]
    if to_fix:
        lines += ["", "How to fix:"]
        for n, f in enumerate(to_fix, 1):
            lines.append(f"{n}. [{f.status.upper()}] {_one_line(f.check)}")
            fix = _CONTROL.sub("?", f.fix).strip() or "(no automatic fix known; see the detail above)"
            lines += [f"   {line}" for line in fix.splitlines()]
    return "\n".join(lines)
