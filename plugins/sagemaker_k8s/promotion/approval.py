"""What a person sees when asked to approve a promotion (Markdown, rendered by the Airflow UI)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def _metric(value: Any) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def approval_text(decision: dict[str, Any], timeout: timedelta | None) -> tuple[str, str]:
    """(subject, body) for the approval of ``decision`` (the gate's XCom)."""
    challenger, champion = decision["challenger"], decision.get("champion")
    metric = decision["metric_name"]
    subject = f"Promote {challenger['training_job']} to endpoint {decision['endpoint_name']}?"
    rows = [
        "| | challenger | champion |",
        "| --- | --- | --- |",
        f"| training job | `{challenger['training_job']}` | "
        f"{'`' + champion['training_job'] + '`' if champion else '(none)'} |",
        f"| {metric} | {_metric(decision['challenger_metric'])} | {_metric(decision['champion_metric'])} |",
        f"| model | `{challenger['model_uri']}` | {'`' + champion['model_uri'] + '`' if champion else '-'} |",
    ]
    if challenger.get("test_accuracy") is not None or (champion or {}).get("test_accuracy") is not None:
        theirs = (champion or {}).get("test_accuracy")
        rows.append(
            f"| test accuracy (batch) | {_metric(challenger.get('test_accuracy'))} | {_metric(theirs)} |"
        )
    if challenger.get("tuning_job"):
        rows.append(f"| tuning job | `{challenger['tuning_job']}` (best of) | |")
    if champion and champion.get("accuracy") is not None:
        rows.append(f"| smoke-test accuracy | (after promotion) | {champion['accuracy']:.3f} |")
    wait = f"{timeout.total_seconds() / 3600:g} h" if timeout else "no limit"
    body = "\n".join(
        [
            f"The gate says **{decision['action']}**: {decision['reason']}.",
            "",
            *rows,
            "",
            "**Approve** updates the endpoint in place (verified live, smoke-tested, rolled back if it "
            "fails).",
            f"**Reject** keeps the champion serving; the run still succeeds. No answer within {wait} "
            "counts as Reject.",
        ]
    )
    return subject, body
