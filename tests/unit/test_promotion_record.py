"""The champion record on the serving CR's annotations: round trips, hostile values, patches."""

from __future__ import annotations

import json

import pytest

from sagemaker_k8s.promotion.record import (
    CANDIDATE,
    CHAMPION,
    PREVIOUS_CHAMPION,
    ModelRecord,
    RecordError,
    promotion_patch,
    read,
    recorded_patch,
    rolled_back_patch,
)

A = ModelRecord("job-a", "cr-a", "s3://b/a/model.tar.gz", "validation:merror", 0.1, "run-a")
B = ModelRecord("job-b", "cr-b", "s3://b/b/model.tar.gz", "validation:merror", 0.08, "run-b")


def test_round_trip_and_absent():
    assert read({CHAMPION: A.to_json()}, CHAMPION) == A
    assert read({}, CHAMPION) is None and read(None, CHAMPION) is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"training_job": "j"}),
        json.dumps({**json.loads(A.to_json()), "model_uri": ""}),
        json.dumps({**json.loads(A.to_json()), "metric_value": "0.1"}),
        json.dumps({**json.loads(A.to_json()), "accuracy": True}),
    ],
)
def test_unreadable_records_name_the_annotation(text):
    with pytest.raises(RecordError, match=CHAMPION):
        read({CHAMPION: text}, CHAMPION)


def test_unknown_keys_are_ignored_and_missing_metric_is_none():
    data = json.loads(A.to_json())
    data.pop("metric_value")
    data["written_by"] = "a newer version"
    assert read({CHAMPION: json.dumps(data)}, CHAMPION).metric_value is None


def test_promotion_then_record_then_rollback_patches():
    candidate = ModelRecord(**{**B.__dict__, "baseline_config": "cfg-1", "baseline_model": A.model_uri})
    annotations = promotion_patch(candidate)["metadata"]["annotations"]
    assert read(annotations, CANDIDATE).baseline_config == "cfg-1"
    champion = candidate.as_champion("2026-12-06T00:00:00+00:00", 0.91)
    recorded = recorded_patch(champion, A)["metadata"]["annotations"]
    assert recorded[CANDIDATE] is None  # merge patch: removes the key
    assert read(recorded, CHAMPION).accuracy == 0.91
    assert read(recorded, CHAMPION).baseline_config is None
    assert read(recorded, PREVIOUS_CHAMPION) == A
    assert rolled_back_patch() == {"metadata": {"annotations": {CANDIDATE: None}}}


def test_recording_the_same_model_again_keeps_the_previous_champion():
    assert PREVIOUS_CHAMPION not in recorded_patch(A, A)["metadata"]["annotations"]
    assert PREVIOUS_CHAMPION not in recorded_patch(A, None)["metadata"]["annotations"]
