"""SageMaker's answers about a tuning job, as plain data: DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob in, dicts out (the hook makes the calls).

The objective value comes from here, not from the CR: the legacy operator's ``status.bestTrainingJob``
has no ``value`` (SageMaker's number does not fit the CRD's string, and Go's decoder drops it).
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: (snake_case key in our results, SageMaker's TrainingJobStatusCounters key)
COUNTERS = (
    ("completed", "Completed"),
    ("in_progress", "InProgress"),
    ("retryable_error", "RetryableError"),
    ("non_retryable_error", "NonRetryableError"),
    ("stopped", "Stopped"),
)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def counters(raw: Any) -> dict[str, int]:
    """SageMaker's TrainingJobStatusCounters with snake_case keys, plus ``total_error``."""
    raw = _mapping(raw)
    out = {key: _count(raw.get(theirs)) for key, theirs in COUNTERS}
    out["total_error"] = out["retryable_error"] + out["non_retryable_error"]
    return out


def tuning_result(described: Mapping[str, Any]) -> dict[str, Any]:
    """What a DescribeHyperParameterTuningJob answer says about the outcome.

    ``{"name", "status", "failure_reason", "best_training_job", "objective": {"name", "type", "value"},
    "hyperparameters", "counters"}``; ``best_training_job`` and the value are None until a training
    job reported the objective, the objective's name/type fall back to the tuning config's.
    """
    best = _mapping(described.get("BestTrainingJob"))
    metric = _mapping(best.get("FinalHyperParameterTuningJobObjectiveMetric"))
    config = _mapping(described.get("HyperParameterTuningJobConfig"))
    wanted = _mapping(config.get("HyperParameterTuningJobObjective"))
    tuned = _mapping(best.get("TunedHyperParameters"))
    return {
        "name": described.get("HyperParameterTuningJobName"),
        "status": described.get("HyperParameterTuningJobStatus"),
        "failure_reason": described.get("FailureReason") or None,
        "best_training_job": best.get("TrainingJobName") or None,
        "objective": {
            "name": metric.get("MetricName") or wanted.get("MetricName"),
            "type": metric.get("Type") or wanted.get("Type"),
            "value": _number(metric.get("Value")),
        },
        "hyperparameters": {str(k): str(v) for k, v in tuned.items()},
        "counters": counters(described.get("TrainingJobStatusCounters")),
    }


def training_jobs(summaries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """HyperParameterTrainingJobSummary items as ``{"name", "status", "objective_value"}`` (value None
    for a job that reported no objective: still running, failed or stopped)."""
    out = []
    for summary in summaries:
        metric = _mapping(summary.get("FinalHyperParameterTuningJobObjectiveMetric"))
        out.append(
            {
                "name": summary.get("TrainingJobName"),
                "status": summary.get("TrainingJobStatus"),
                "objective_value": _number(metric.get("Value")),
            }
        )
    return out
