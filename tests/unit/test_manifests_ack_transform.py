"""Batch scoring's ACK Model and TransformJob manifests: valid against ACK's published CRDs, the same
values as the legacy manifests in ACK's spelling, and refused for bad run values (pure, no mocks)."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.ack import DELETION_POLICY_ANNOTATION, REGION_ANNOTATION
from sagemaker_k8s.manifests.flavours import ACK_MODEL, ACK_TRANSFORM_JOB
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.transform import (
    build_ack_model,
    build_ack_transform_job,
    build_batch_transform_job,
    build_model,
)
from sagemaker_k8s.manifests.validate import validate_resource, validation_errors
from tests.unit.test_manifests_transform import (
    ANNOTATIONS,
    HOSTILE,
    LABELS,
    MODEL_URL,
    ROLE,
    model_spec,
    transform_spec,
)

MODEL_CR = "xgb-batch-score-abc12345-model"
JOB = "xgb-batch-score-abc12345"


@pytest.mark.parametrize(
    ("template", "kind"), [("ack/model", ACK_MODEL), ("ack/transformjob", ACK_TRANSFORM_JOB)]
)
def test_templates_are_valid_as_shipped(template, kind) -> None:
    assert validation_errors(kind, load_template(template)) == []


@pytest.mark.parametrize(
    "overrides",
    [{}, {"region": "us-west-2", "image": xgboost_image("us-west-2")}, {"cr_name": "m" * 63},
     {"labels": {}, "annotations": {}}],
)  # fmt: skip
def test_model_fields_and_schema(overrides) -> None:
    spec = model_spec(**overrides)
    obj = build_ack_model(load_template("ack/model"), spec)
    validate_resource(ACK_MODEL, obj)
    assert (obj["apiVersion"], obj["kind"]) == ("sagemaker.services.k8s.aws/v1alpha1", "Model")
    assert obj["metadata"] == {
        "name": spec.cr_name,
        "namespace": "ml",
        "labels": spec.labels,
        "annotations": {
            **spec.annotations,
            REGION_ANNOTATION: spec.region,
            DELETION_POLICY_ANNOTATION: "delete",
        },
    }
    assert obj["spec"] == {
        "modelName": spec.cr_name,  # ACK generates no name: the CR's is the SageMaker model's
        "primaryContainer": {"containerHostname": "xgboost", "modelDataURL": MODEL_URL, "image": spec.image},
        "executionRoleARN": ROLE,
    }


def test_model_has_the_legacy_models_values() -> None:
    legacy = build_model(load_template("model"), model_spec())["spec"]
    ack = build_ack_model(load_template("ack/model"), model_spec())["spec"]
    assert ack["executionRoleARN"] == legacy["executionRoleArn"]
    assert ack["primaryContainer"]["modelDataURL"] == legacy["primaryContainer"]["modelDataUrl"]
    assert ack["primaryContainer"]["image"] == legacy["primaryContainer"]["image"]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"model_name": MODEL_CR},
        {"job_name": "a" * 63, "cr_name": "a" * 63},
        {"input_uri": "s3://other-bucket/a/b/test/", "output_uri": "s3://my-bucket/out/run/"},
    ],
)
def test_transform_fields_and_schema(overrides: dict[str, Any]) -> None:
    spec = transform_spec(**overrides)
    obj = build_ack_transform_job(load_template("ack/transformjob"), spec)
    validate_resource(ACK_TRANSFORM_JOB, obj)
    assert (obj["apiVersion"], obj["kind"]) == ("sagemaker.services.k8s.aws/v1alpha1", "TransformJob")
    assert obj["metadata"] == {
        "name": spec.cr_name,
        "namespace": "ml",
        "labels": LABELS,
        "annotations": {**ANNOTATIONS, REGION_ANNOTATION: "eu-west-1", DELETION_POLICY_ANNOTATION: "delete"},
    }
    assert obj["spec"] == {
        "transformJobName": spec.job_name,
        "modelName": spec.model_name,
        "transformInput": {
            "contentType": "text/csv",
            "splitType": "Line",
            "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": spec.input_uri}},
        },
        "transformOutput": {"s3OutputPath": spec.output_uri, "assembleWith": "Line"},
        "transformResources": {"instanceCount": 1, "instanceType": "ml.m4.xlarge"},
    }


def test_transform_has_the_legacy_transforms_values() -> None:
    legacy = build_batch_transform_job(load_template("batchtransformjob"), transform_spec())["spec"]
    ack = build_ack_transform_job(load_template("ack/transformjob"), transform_spec())["spec"]
    legacy_source = legacy["transformInput"]["dataSource"]["s3DataSource"]
    ack_source = ack["transformInput"]["dataSource"]["s3DataSource"]
    assert ack_source == {"s3DataType": legacy_source["s3DataType"], "s3URI": legacy_source["s3Uri"]}
    for key in ("transformJobName", "modelName", "transformOutput", "transformResources"):
        assert ack[key] == legacy[key], key
    assert {k: v for k, v in ack["transformInput"].items() if k != "dataSource"} == {
        k: v for k, v in legacy["transformInput"].items() if k != "dataSource"
    }
    assert "region" not in ack


@pytest.mark.parametrize(
    ("template", "builder", "spec", "match"),
    [
        ("model", build_ack_model, model_spec, "expected Model .sagemaker.services"),
        ("ack/transformjob", build_ack_model, model_spec, "expected Model"),
        ("batchtransformjob", build_ack_transform_job, transform_spec, "expected TransformJob"),
        ("ack/model", build_ack_transform_job, transform_spec, "expected TransformJob"),
    ],
)
def test_builders_refuse_other_templates(template, builder, spec, match) -> None:
    with pytest.raises(ConfigError, match=match):
        builder(load_template(template), spec())


def test_model_template_with_containers_is_refused() -> None:
    template = load_template("ack/model")
    template["spec"]["containers"] = [template["spec"].pop("primaryContainer")]
    with pytest.raises(ConfigError, match="primaryContainer"):
        build_ack_model(template, model_spec())


def test_transform_template_without_resources_is_refused() -> None:
    template = load_template("ack/transformjob")
    del template["spec"]["transformResources"]
    with pytest.raises(ConfigError, match="TransformJob template needs transformResources"):
        build_ack_transform_job(template, transform_spec())


@pytest.mark.parametrize(
    ("field", "value"),
    [("model_data_url", HOSTILE), ("role_arn", "arn:aws:iam::123:user/bob"), ("region", "mars-1")],
)
def test_bad_model_values_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        build_ack_model(load_template("ack/model"), model_spec(**{field: value}))
    assert info.value.param == field


def test_builders_leave_the_templates_untouched() -> None:
    for name, builder, spec in (
        ("ack/model", build_ack_model, model_spec),
        ("ack/transformjob", build_ack_transform_job, transform_spec),
    ):
        template = load_template(name)
        before = repr(template)
        builder(template, spec())
        assert repr(template) == before
