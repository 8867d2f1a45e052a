"""Specs validate themselves: every field checked on construction, hostile values refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.specs import HostingDeploymentSpec, TrainingJobSpec, hyperparameter_value

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"


def training_spec(**overrides: Any) -> TrainingJobSpec:
    values: dict[str, Any] = {
        "cr_name": "xgb-abc12345",
        "namespace": "ml",
        "job_name": "xgb-abc12345",
        "region": "us-east-1",
        "role_arn": ROLE,
        "image": IMAGE,
        "bucket": "my-bucket",
        "prefix": "xgboost-mnist",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "volume_size_gb": 10,
        "max_runtime_seconds": 3600,
        "hyperparameters": {"num_round": 20, "eta": 0.3},
        "labels": {"app.kubernetes.io/managed-by": "airflow"},
        "annotations": {"airflow.apache.org/run-id": "{{ x }}\nkind: Secret"},
    }
    values.update(overrides)
    return TrainingJobSpec(**values)


def hosting_spec(**overrides: Any) -> HostingDeploymentSpec:
    values: dict[str, Any] = {
        "cr_name": "xgb-ep",
        "namespace": "ml",
        "endpoint_name": "xgb-ep",
        "region": "us-east-1",
        "role_arn": ROLE,
        "image": IMAGE,
        "model_data_url": "s3://my-bucket/p/output/job/output/model.tar.gz",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
    }
    values.update(overrides)
    return HostingDeploymentSpec(**values)


def test_valid_specs_and_s3_uris() -> None:
    spec = training_spec()
    assert spec.s3_uri("train") == "s3://my-bucket/xgboost-mnist/train/"
    assert training_spec(prefix="").s3_uri("output") == "s3://my-bucket/output/"
    assert hosting_spec().endpoint_name == "xgb-ep"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cr_name", "Bad_Name"),
        ("cr_name", "a" * 64),
        ("cr_name", "x\n"),
        ("namespace", "a.b"),
        ("job_name", "job_name"),
        ("job_name", "a" * 64),
        ("region", "us west 2"),
        ("region", "us-west-2\n"),
        ("role_arn", "arn:aws:iam::123:role/x"),
        ("role_arn", ROLE + "\nx"),
        ("image", ""),
        ("image", "img with space"),
        ("bucket", "a/b"),
        ("bucket", ""),
        ("prefix", "/abs"),
        ("prefix", "trail/"),
        ("prefix", "a//b"),
        ("prefix", "a\nb"),
        ("instance_type", "m5.large"),
        ("instance_count", 0),
        ("instance_count", True),
        ("instance_count", 1.0),
        ("volume_size_gb", 0),
        ("max_runtime_seconds", -1),
        ("labels", {"bad key!": "v"}),
        ("labels", {"k": "bad value!"}),
        ("annotations", {"k": 1}),
        ("hyperparameters", {"": 1}),
        ("hyperparameters", {"x\ny": 1}),
        ("hyperparameters", {"eta": True}),
        ("hyperparameters", {"eta": float("nan")}),
        ("hyperparameters", {"eta": float("inf")}),
        ("hyperparameters", {"eta": [1]}),
        ("hyperparameters", {"eta": "a\nb"}),
        ("hyperparameters", {"eta": "x" * 2501}),
    ],
)
def test_invalid_training_specs(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as e:
        training_spec(**{field: value})
    assert e.value.param.split(".")[0] in (field, "hyperparameters")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoint_name", "ep_1"),
        ("endpoint_name", "-ep"),
        ("model_data_url", "https://x/y"),
        ("model_data_url", "s3://bucket"),
        ("instance_count", 0),
        ("model_data_url", "s3://b/k\n"),
    ],
)
def test_invalid_hosting_specs(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as e:
        hosting_spec(**{field: value})
    assert e.value.param == field


def test_specs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        training_spec().region = "eu-west-1"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10, "10"),
        (0, "0"),
        (0.2, "0.2"),
        (10.0, "10"),
        (1e-05, "1e-05"),
        ("multi:softmax", "multi:softmax"),
        (-3, "-3"),
        (2.5e20, "2.5e+20"),
    ],
)
def test_hyperparameter_value(value: Any, text: str) -> None:
    assert hyperparameter_value("x", value) == text
