"""Batch scoring's Model and BatchTransformJob manifests: built structurally from the templates,
valid against the operator's published CRD schemas, and refused for bad run values."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.flavours import LEGACY_BATCH_TRANSFORM_JOB, LEGACY_MODEL
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.transform import (
    BatchTransformSpec,
    ModelSpec,
    build_batch_transform_job,
    build_model,
)
from sagemaker_k8s.manifests.validate import validate_resource, validation_errors

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
MODEL_URL = "s3://my-bucket/xgboost-mnist/output/job-1/output/model.tar.gz"
HOSTILE = "{{ ti.xcom_pull('x') }}\nkind: Secret\n---\n{\"a\": 1}"
LABELS = {"app.kubernetes.io/managed-by": "airflow"}
ANNOTATIONS = {"airflow.apache.org/run-id": "manual__2026-12-06T00:00:00+00:00"}


def model_spec(**overrides: Any) -> ModelSpec:
    values: dict[str, Any] = {
        "cr_name": "xgb-batch-score-abc12345-model",
        "namespace": "ml",
        "region": "eu-west-1",
        "role_arn": ROLE,
        "image": xgboost_image("eu-west-1"),
        "model_data_url": MODEL_URL,
        "labels": LABELS,
        "annotations": ANNOTATIONS,
    }
    return ModelSpec(**{**values, **overrides})


def transform_spec(**overrides: Any) -> BatchTransformSpec:
    values: dict[str, Any] = {
        "cr_name": "xgb-batch-score-abc12345",
        "namespace": "ml",
        "region": "eu-west-1",
        "job_name": "xgb-batch-score-abc12345",
        "model_name": "xgb-batch-score-abc12345-model-0123456789abcdef0123456789abcdef"[:63],
        "input_uri": "s3://my-bucket/xgboost-mnist/test/",
        "output_uri": "s3://my-bucket/xgboost-mnist/batch/xgb-batch-score-abc12345/",
        "labels": LABELS,
        "annotations": ANNOTATIONS,
    }
    return BatchTransformSpec(**{**values, **overrides})


def test_model_fields_and_schema() -> None:
    obj = build_model(load_template("model"), model_spec())
    validate_resource(LEGACY_MODEL, obj)
    assert obj["metadata"] == {
        "name": "xgb-batch-score-abc12345-model",
        "namespace": "ml",
        "labels": LABELS,
        "annotations": ANNOTATIONS,
    }
    assert obj["spec"] == {
        "primaryContainer": {
            "containerHostname": "xgboost",
            "modelDataUrl": MODEL_URL,
            "image": xgboost_image("eu-west-1"),
        },
        "region": "eu-west-1",
        "executionRoleArn": ROLE,
    }


def test_transform_fields_and_schema() -> None:
    spec = transform_spec()
    obj = build_batch_transform_job(load_template("batchtransformjob"), spec)
    validate_resource(LEGACY_BATCH_TRANSFORM_JOB, obj)
    assert obj["metadata"]["name"] == spec.cr_name and obj["metadata"]["labels"] == LABELS
    assert obj["spec"] == {
        "region": "eu-west-1",
        "modelName": spec.model_name,
        "transformJobName": "xgb-batch-score-abc12345",
        "transformInput": {
            "contentType": "text/csv",
            "splitType": "Line",
            "dataSource": {
                "s3DataSource": {"s3DataType": "S3Prefix", "s3Uri": "s3://my-bucket/xgboost-mnist/test/"}
            },
        },
        "transformOutput": {
            "s3OutputPath": "s3://my-bucket/xgboost-mnist/batch/xgb-batch-score-abc12345/",
            "assembleWith": "Line",
        },
        "transformResources": {"instanceCount": 1, "instanceType": "ml.m4.xlarge"},
    }


@pytest.mark.parametrize("name", ["model", "batchtransformjob"])
def test_templates_are_valid_as_shipped(name: str) -> None:
    kind = LEGACY_MODEL if name == "model" else LEGACY_BATCH_TRANSFORM_JOB
    assert validation_errors(kind, load_template(name)) == []


def test_builders_leave_the_template_untouched() -> None:
    template = load_template("batchtransformjob")
    before = repr(template)
    build_batch_transform_job(template, transform_spec())
    assert repr(template) == before


@pytest.mark.parametrize(
    ("template", "builder", "spec", "match"),
    [
        ("batchtransformjob", build_model, model_spec, "expected Model"),
        ("model", build_batch_transform_job, transform_spec, "expected BatchTransformJob"),
    ],
)
def test_builders_refuse_the_other_template(template, builder, spec, match) -> None:
    with pytest.raises(ConfigError, match=match):
        builder(load_template(template), spec())


def test_model_template_with_containers_is_refused() -> None:
    template = load_template("model")
    template["spec"]["containers"] = [template["spec"].pop("primaryContainer")]
    with pytest.raises(ConfigError, match="primaryContainer"):
        build_model(template, model_spec())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cr_name", "Upper_Case"),
        ("cr_name", "x" * 64),
        ("namespace", "a/b"),
        ("region", "mars-1"),
        ("role_arn", "arn:aws:iam::123:user/bob"),
        ("image", "with space"),
        ("image", ""),
        ("model_data_url", "https://my-bucket/model.tar.gz"),
        ("model_data_url", "s3://my-bucket/"),
        ("model_data_url", HOSTILE),
        ("labels", {"bad key!": "x"}),
    ],
)
def test_bad_model_values_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        model_spec(**{field: value})
    assert info.value.param == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("job_name", "x" * 64),
        ("job_name", "under_score"),
        ("model_name", ""),
        ("model_name", HOSTILE),
        ("input_uri", "s3://my-bucket/xgboost-mnist/test"),  # would also read test-labels/
        ("input_uri", "s3://my-bucket/"),
        ("input_uri", "s3://my-bucket/a//b/"),
        ("input_uri", "my-bucket/xgboost-mnist/test/"),
        ("output_uri", "s3://my-bucket/xgboost-mnist/batch/run"),
        ("output_uri", "s3://my-bucket/xgboost-mnist/test/batch/"),  # inside the input
        ("region", ""),
    ],
)
def test_bad_transform_values_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        transform_spec(**{field: value})
    assert info.value.param == field


def test_63_character_job_name_is_the_limit() -> None:
    assert transform_spec(job_name="a" * 63).job_name == "a" * 63
