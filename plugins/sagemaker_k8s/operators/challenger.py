"""Where the new model (the challenger) comes from in a run: the training wait or the tuning wait,
whichever the training branch ran, and its batch-scoring result when there is one.

Both waits push the same shape (``{"name", "namespace", "job_name", "model_path", "metrics"}``; the
tuning wait adds ``"tuning"``), so the gate, batch scoring and promotion read one dict. The tasks pull
by task id instead of taking an ``XComArg``: the branch skips one of the waits, and an ``XComArg`` of
a skipped task cannot be resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

CHALLENGER_KEYS = frozenset({"name", "namespace", "job_name", "model_path", "metrics"})


def pull_challenger(context, task_ids: Sequence[str]) -> dict[str, Any]:
    """The result of the first of ``task_ids`` that pushed one in this run; fails clearly otherwise."""
    ti = context["ti"]
    for task_id in task_ids:
        value = ti.xcom_pull(task_ids=task_id)
        if value is None:
            continue
        if not isinstance(value, dict) or not set(value) >= CHALLENGER_KEYS:
            raise AirflowFailException(
                f"{task_id} pushed {str(value)[:200]!r}, not a trained model "
                f"(expected the keys {sorted(CHALLENGER_KEYS)})"
            )
        if not isinstance(value["model_path"], str) or not value["model_path"].startswith("s3://"):
            raise AirflowFailException(f"{task_id} reported no model in S3: {value['model_path']!r}")
        return value
    raise AirflowFailException(f"no trained model in this run: none of {list(task_ids)} pushed a result")


def pull_scoring(context, task_id: str | None) -> dict[str, Any] | None:
    """The batch-scoring result, or None when scoring is off (the task skipped) or not wired."""
    if not task_id:
        return None
    value = context["ti"].xcom_pull(task_ids=task_id)
    if value is None:
        return None
    accuracy = value.get("accuracy") if isinstance(value, dict) else None
    if isinstance(accuracy, bool) or not isinstance(accuracy, int | float) or not 0 <= accuracy <= 1:
        raise AirflowFailException(f"{task_id} pushed no accuracy in [0, 1]: {str(value)[:200]!r}")
    return value
