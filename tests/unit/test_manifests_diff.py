"""spec_differences: readable, keyed by name for name/value lists, blind to controller-owned fields."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sagemaker_k8s.manifests.diff import spec_differences
from sagemaker_k8s.manifests.load import load_template


@pytest.fixture
def desired() -> dict[str, Any]:
    obj = load_template("trainingjob")
    obj["spec"]["trainingJobName"] = "xgboost-mnist-abc"
    return obj


def server_copy(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server returns: same spec, plus metadata and status written by others."""
    existing = copy.deepcopy(obj)
    existing["metadata"].update(
        uid="u-1", resourceVersion="42", finalizers=["sagemaker-operator-finalizer"], labels={"other": "x"}
    )
    existing["status"] = {"trainingJobStatus": "InProgress", "sageMakerTrainingJobName": "xgboost-mnist-abc"}
    return existing


def test_identical_spec_has_no_differences(desired: dict[str, Any]) -> None:
    assert spec_differences(server_copy(desired), desired) == []


def test_scalar_difference_message(desired: dict[str, Any]) -> None:
    existing = server_copy(desired)
    desired["spec"]["resourceConfig"]["instanceType"] = "ml.m5.large"
    assert spec_differences(existing, desired) == [
        "spec.resourceConfig.instanceType: 'ml.m4.xlarge' (existing) != 'ml.m5.large' (desired)"
    ]


def test_hyperparameters_compare_by_name_not_order(desired: dict[str, Any]) -> None:
    existing = server_copy(desired)
    existing["spec"]["hyperParameters"].reverse()
    assert spec_differences(existing, desired) == []
    desired["spec"]["hyperParameters"][1]["value"] = "0.3"  # eta
    desired["spec"]["hyperParameters"].append({"name": "subsample", "value": "0.8"})
    existing["spec"]["hyperParameters"] = [
        h for h in existing["spec"]["hyperParameters"] if h["name"] != "gamma"
    ]
    assert spec_differences(existing, desired) == [
        "spec.hyperParameters[eta]: '0.2' (existing) != '0.3' (desired)",
        "spec.hyperParameters[gamma]: <absent> (existing) != '4' (desired)",
        "spec.hyperParameters[subsample]: <absent> (existing) != '0.8' (desired)",
    ]


def test_channels_compare_by_channel_name(desired: dict[str, Any]) -> None:
    existing = server_copy(desired)
    existing["spec"]["inputDataConfig"].reverse()
    desired["spec"]["inputDataConfig"][0]["dataSource"]["s3DataSource"]["s3Uri"] = "s3://other/train/"
    assert spec_differences(existing, desired) == [
        "spec.inputDataConfig[train].dataSource.s3DataSource.s3Uri: "
        "'s3://my-bucket/xgboost/train/' (existing) "
        "!= 's3://other/train/' (desired)"
    ]


def test_generated_name_written_back_by_controller_is_ignored(desired: dict[str, Any]) -> None:
    del desired["spec"]["trainingJobName"]
    existing = server_copy(desired)
    existing["spec"]["trainingJobName"] = "xgboost-mnist-0123456789abcdef0123456789abcdef"
    assert spec_differences(existing, desired) == []


def test_explicit_name_is_compared(desired: dict[str, Any]) -> None:
    existing = server_copy(desired)
    existing["spec"]["trainingJobName"] = "another-job"
    assert spec_differences(existing, desired) == [
        "spec.trainingJobName: 'another-job' (existing) != 'xgboost-mnist-abc' (desired)"
    ]


def test_extra_field_in_existing_is_reported(desired: dict[str, Any]) -> None:
    existing = server_copy(desired)
    existing["spec"]["enableManagedSpotTraining"] = True
    assert spec_differences(existing, desired) == [
        "spec.enableManagedSpotTraining: True (existing) != <absent> (desired)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "differs"),
    [(1, 1.0, False), (1, True, True), ("5", 5, True), (None, "x", True), ([1], (1,), True), ({}, [], True)],
)
def test_type_sensitive_comparison(old: Any, new: Any, differs: bool) -> None:
    assert bool(spec_differences({"spec": {"a": old}}, {"spec": {"a": new}})) is differs


def test_positional_lists_and_length_changes() -> None:
    found = spec_differences({"spec": {"subnets": ["a", "b"]}}, {"spec": {"subnets": ["a", "c", "d"]}})
    assert found == [
        "spec.subnets[1]: 'b' (existing) != 'c' (desired)",
        "spec.subnets[2]: <absent> (existing) != 'd' (desired)",
    ]


def test_duplicate_names_fall_back_to_positions() -> None:
    old = {"spec": {"hp": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}}
    new = {"spec": {"hp": [{"name": "a", "value": "1"}, {"name": "a", "value": "3"}]}}
    assert spec_differences(old, new) == ["spec.hp[1].value: '2' (existing) != '3' (desired)"]


def test_tags_keyed_by_key() -> None:
    old = {"spec": {"tags": [{"key": "team", "value": "a"}]}}
    new = {"spec": {"tags": [{"key": "team", "value": "b"}]}}
    assert spec_differences(old, new) == ["spec.tags[team]: 'a' (existing) != 'b' (desired)"]


def test_ignore_extra_paths(desired: dict[str, Any]) -> None:
    existing = server_copy(desired)
    existing["spec"]["resourceConfig"]["volumeSizeInGB"] = 50
    existing["spec"]["inputDataConfig"][0]["contentType"] = "text/libsvm"
    assert (
        spec_differences(
            existing,
            desired,
            ignore=["spec.resourceConfig.volumeSizeInGB", "spec.inputDataConfig.contentType"],
        )
        == []
    )


def test_missing_spec() -> None:
    assert spec_differences({}, {"spec": {"a": 1}}) == ["spec: <absent> (existing) != {'a': 1} (desired)"]
    assert spec_differences({}, {}) == []


def test_hostile_values_are_escaped_and_capped() -> None:
    found = spec_differences({"spec": {"a": "x\ny: {{ z }}"}}, {"spec": {"a": "y" * 1000}})
    assert len(found) == 1
    assert "\n" not in found[0]
    assert "'x\\ny: {{ z }}' (existing)" in found[0]
    assert len(found[0]) < 300
