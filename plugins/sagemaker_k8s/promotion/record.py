"""The champion record: which model serves a pipeline's endpoint, kept on the serving CR itself.

Annotations on the HostingDeployment survive a fresh Airflow metadata database or a second Airflow
deployment: whoever reads the CR knows the champion (training job, model URI, metric, when and by
which run it was promoted). Three annotations, each a JSON object:

* ``champion``: the model that passed its promotion (verified live and smoke-tested);
* ``previous-champion``: the one before it (what to roll back to by hand);
* ``candidate``: a promotion under way (written with the spec change, removed once recorded or
  rolled back), including the live endpoint config before the change (the rollout's baseline).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

ANNOTATION_PREFIX = "sagemaker-k8s.airflow/"
CHAMPION = ANNOTATION_PREFIX + "champion"
PREVIOUS_CHAMPION = ANNOTATION_PREFIX + "previous-champion"
CANDIDATE = ANNOTATION_PREFIX + "candidate"


_REQUIRED = ("training_job", "training_cr", "model_uri", "metric_name", "run_id")


class RecordError(ValueError):
    """An annotation that is not a valid record (edited by hand, or written by something else)."""


@dataclass(frozen=True)
class ModelRecord:
    """One model of the pipeline: where it came from, how good it is, and who promoted it."""

    training_job: str  # the SageMaker training job
    training_cr: str  # the TrainingJob CR (kept by retention while this is champion)
    model_uri: str
    metric_name: str
    metric_value: float | None
    run_id: str
    promoted_at: str | None = None  # ISO 8601 UTC, set when recorded as champion
    accuracy: float | None = None  # smoke-test accuracy on the live endpoint
    test_accuracy: float | None = None  # batch-scoring accuracy on the test split
    tuning_job: str | None = None  # the tuning job the model is the best of, if tuned
    baseline_config: str | None = None  # candidate only: the endpoint config live before the change
    baseline_modified: str | None = None  # candidate only: its LastModifiedTime
    baseline_failure: str | None = None  # candidate only: its FailureReason
    baseline_model: str | None = None  # candidate only: the model it served

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelRecord:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as e:
            raise RecordError(f"not JSON: {str(text)[:80]!r}") from e
        if not isinstance(data, dict):
            raise RecordError(f"not a JSON object: {str(text)[:80]!r}")
        names = {f.name for f in fields(cls)}
        missing = sorted(set(_REQUIRED) - set(data))
        if missing:
            raise RecordError(f"missing {missing}")
        for key in _REQUIRED:
            if not isinstance(data[key], str) or not data[key]:
                raise RecordError(f"{key} must be a non-empty string")
        data.setdefault("metric_value", None)
        if data.get("tuning_job") is not None and not isinstance(data["tuning_job"], str):
            raise RecordError("tuning_job must be a string")
        for key in ("metric_value", "accuracy", "test_accuracy"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise RecordError(f"{key} must be a number")
        return cls(**{k: v for k, v in data.items() if k in names})

    def as_candidate(self) -> ModelRecord:
        return ModelRecord(**{**asdict(self), "promoted_at": None, "accuracy": None})

    def as_champion(self, promoted_at: str, accuracy: float | None) -> ModelRecord:
        return ModelRecord(
            **{
                **asdict(self),
                "promoted_at": promoted_at,
                "accuracy": accuracy,
                "baseline_config": None,
                "baseline_modified": None,
                "baseline_failure": None,
                "baseline_model": None,
            }
        )


def read(annotations: Mapping[str, Any] | None, key: str) -> ModelRecord | None:
    """The record under ``key``; None when absent. Raises `RecordError` when it is unreadable."""
    text = (annotations or {}).get(key)
    if text in (None, ""):
        return None
    try:
        return ModelRecord.from_json(text)
    except RecordError as e:
        raise RecordError(f"annotation {key} is not a valid record: {e}") from e


def promotion_patch(candidate: ModelRecord) -> dict[str, Any]:
    """Metadata merge-patch written with the spec change of a promotion."""
    return {"metadata": {"annotations": {CANDIDATE: candidate.as_candidate().to_json()}}}


def recorded_patch(champion: ModelRecord, previous: ModelRecord | None) -> dict[str, Any]:
    """Metadata merge-patch recording ``champion`` (the candidate annotation is removed)."""
    annotations: dict[str, Any] = {CHAMPION: champion.to_json(), CANDIDATE: None}
    if previous is not None and previous.model_uri != champion.model_uri:
        annotations[PREVIOUS_CHAMPION] = previous.to_json()
    return {"metadata": {"annotations": annotations}}


def rolled_back_patch() -> dict[str, Any]:
    """Metadata merge-patch after a rollback: the champion stays, the candidate goes."""
    return {"metadata": {"annotations": {CANDIDATE: None}}}
