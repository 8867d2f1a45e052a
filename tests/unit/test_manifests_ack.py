"""The ACK flavour's manifests: built from the same specs as legacy, valid against the published ACK
CRDs, hostile values kept as data; the serving revision names; choosing a flavour from the CRDs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.ack import (
    REGION_ANNOTATION,
    adoption_annotations,
    build_ack_serving,
    build_ack_training_job,
    merge_hyperparameter_map,
    serving_revision,
)
from sagemaker_k8s.manifests.flavours import (
    ACK_ENDPOINT,
    ACK_ENDPOINT_CONFIG,
    ACK_MODEL,
    ACK_TRAINING_JOB,
    FLAVOUR_MARKER_CRDS,
    KINDS_BY_ROLE,
    choose_flavour,
    kind_of,
)
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.validate import validate_resource
from tests.unit.test_manifests_build import hosting_spec, training_spec

#: YAML, JSON and Jinja on one line (hyperparameter values may not hold control characters).
HOSTILE = "{{ ti.xcom_pull('x') }} kind: Secret --- {\"a\": 1}"
SERVING_TEMPLATES = {
    "model": load_template("ack/model"),
    "endpoint_config": load_template("ack/endpointconfig"),
    "endpoint": load_template("ack/endpoint"),
}


def ack_training(**overrides: Any) -> dict[str, Any]:
    return build_ack_training_job(load_template("ack/trainingjob"), training_spec(**overrides))


def test_ack_training_job_is_valid_and_carries_the_run_values() -> None:
    obj = ack_training()
    validate_resource(ACK_TRAINING_JOB, obj)
    spec = obj["spec"]
    assert obj["apiVersion"] == "sagemaker.services.k8s.aws/v1alpha1"
    assert obj["metadata"]["annotations"][REGION_ANNOTATION] == "us-east-1"
    assert "region" not in spec  # ACK has no spec.region
    assert spec["trainingJobName"] == "xgb-abc12345"
    assert spec["roleARN"].endswith("AmazonSageMaker-ExecutionRole")
    assert spec["algorithmSpecification"]["trainingImage"].endswith(
        ".dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
    )
    assert spec["outputDataConfig"]["s3OutputPath"] == "s3://my-bucket/xgboost-mnist/output/"
    uris = {c["channelName"]: c["dataSource"]["s3DataSource"]["s3URI"] for c in spec["inputDataConfig"]}
    assert uris == {
        "train": "s3://my-bucket/xgboost-mnist/train/",
        "validation": "s3://my-bucket/xgboost-mnist/validation/",
    }
    assert spec["resourceConfig"] == {"instanceType": "ml.m5.large", "instanceCount": 2, "volumeSizeInGB": 10}
    assert spec["stoppingCondition"] == {"maxRuntimeInSeconds": 3600}
    assert spec["hyperParameters"]["num_round"] == "20" and spec["hyperParameters"]["eta"] == "0.3"
    assert spec["hyperParameters"]["objective"] == "multi:softmax"  # kept from the template


@pytest.mark.parametrize(
    ("template", "overrides", "expected"),
    [
        ({"a": "1"}, {}, {"a": "1"}),
        ({"a": "1"}, {"a": 2}, {"a": "2"}),
        ({"a": "1"}, {"b": 0.5}, {"a": "1", "b": "0.5"}),
        (None, {"n": 3.0}, {"n": "3"}),
        ({}, {"s": HOSTILE}, {"s": HOSTILE}),
    ],
)
def test_hyperparameter_map(template: Any, overrides: dict, expected: dict) -> None:
    assert merge_hyperparameter_map(template, overrides) == expected


@pytest.mark.parametrize("template", [["a"], [{"name": "a", "value": "1"}], "x", {1: "a"}])
def test_hyperparameter_map_refuses_other_shapes(template: Any) -> None:
    with pytest.raises(ConfigError, match="map"):
        merge_hyperparameter_map(template, {})


def test_hostile_hyperparameter_stays_one_leaf() -> None:
    obj = ack_training(hyperparameters={"objective": HOSTILE})
    validate_resource(ACK_TRAINING_JOB, obj)
    assert obj["spec"]["hyperParameters"]["objective"] == HOSTILE


def test_ack_template_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected TrainingJob"):
        build_ack_training_job(load_template("trainingjob"), training_spec())


def test_serving_manifests_are_valid_and_linked() -> None:
    serving = build_ack_serving(
        SERVING_TEMPLATES, hosting_spec(), endpoint_annotations={"airflow.apache.org/dag-id": "d"}
    )
    for kind, obj in (
        (ACK_MODEL, serving.model),
        (ACK_ENDPOINT_CONFIG, serving.endpoint_config),
        (ACK_ENDPOINT, serving.endpoint),
    ):
        validate_resource(kind, obj)
        assert obj["metadata"]["annotations"][REGION_ANNOTATION] == "us-east-1"
        assert obj["metadata"]["namespace"] == "ml"
    revision = serving.revision
    assert revision.startswith("xgb-ep-") and len(revision) == len("xgb-ep-") + 8
    assert serving.model["spec"]["modelName"] == revision
    container = serving.model["spec"]["primaryContainer"]
    assert container["modelDataURL"] == "s3://my-bucket/p/output/job/output/model.tar.gz"
    assert serving.model["spec"]["executionRoleARN"].endswith("ExecutionRole")
    variant = serving.endpoint_config["spec"]["productionVariants"][0]
    assert serving.endpoint_config["spec"]["endpointConfigName"] == revision
    assert (variant["modelName"], variant["instanceType"], variant["initialInstanceCount"]) == (
        revision,
        "ml.m5.large",
        1,
    )
    assert serving.endpoint["metadata"]["name"] == "xgb-ep"
    assert serving.endpoint["spec"] == {"endpointName": "xgb-ep", "endpointConfigName": revision}
    assert serving.endpoint["metadata"]["annotations"]["airflow.apache.org/dag-id"] == "d"
    assert "airflow.apache.org/dag-id" not in serving.model["metadata"]["annotations"]


def test_revision_names_follow_the_model() -> None:
    a = serving_revision("Xgb-Endpoint", "s3://b/k/1/model.tar.gz")
    assert a == serving_revision("Xgb-Endpoint", "s3://b/k/1/model.tar.gz")
    assert a != serving_revision("Xgb-Endpoint", "s3://b/k/2/model.tar.gz")
    assert a.startswith("xgb-endpoint-")


def test_revision_of_a_63_character_endpoint_fits() -> None:
    name = serving_revision("e" * 63, "s3://b/m.tar.gz")
    assert len(name) == 63 and name.startswith("e" * 54 + "-")


def test_adoption_annotations_name_the_sagemaker_resource() -> None:
    annotations = adoption_annotations(ACK_TRAINING_JOB, "job-1")
    assert annotations["services.k8s.aws/adoption-policy"] == "adopt-or-create"
    assert json.loads(annotations["services.k8s.aws/adoption-fields"]) == {"trainingJobName": "job-1"}


LEGACY_CRD, ACK_CRD = FLAVOUR_MARKER_CRDS["legacy"], FLAVOUR_MARKER_CRDS["ack"]


@pytest.mark.parametrize(
    ("requested", "installed", "chosen"),
    [
        ("auto", [LEGACY_CRD, "other.example.com"], "legacy"),
        ("auto", [ACK_CRD], "ack"),
        ("legacy", [ACK_CRD], "legacy"),  # an explicit choice is the preflight's to check
        ("ack", [], "ack"),
    ],
)
def test_choose_flavour(requested: str, installed: list[str], chosen: str) -> None:
    assert choose_flavour(requested, installed) == chosen


@pytest.mark.parametrize(
    ("installed", "message"),
    [
        ([LEGACY_CRD, ACK_CRD], 'both controllers.*{"flavour": "legacy"} or {"flavour": "ack"}'),
        ([], "neither.*helm install -n ack-system"),
        (["hostingdeployments.sagemaker.aws.amazon.com"], "neither"),
    ],
)
def test_auto_with_both_or_neither_says_how_to_fix(installed: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_flavour("auto", installed)


def test_every_role_has_a_kind_per_flavour() -> None:
    for role, kinds in KINDS_BY_ROLE.items():
        assert set(kinds) == {"legacy", "ack"}
        assert not kinds["legacy"].is_ack and kinds["ack"].is_ack
        assert kind_of(role, "ack") is kinds["ack"]
    with pytest.raises(KeyError, match="auto"):
        kind_of("training", "auto")


def test_every_ack_manifest_says_its_region_and_delete_policy() -> None:
    serving = build_ack_serving(SERVING_TEMPLATES, hosting_spec(), endpoint_annotations={})
    for obj in (ack_training(), serving.model, serving.endpoint_config, serving.endpoint):
        annotations = obj["metadata"]["annotations"]
        assert annotations["services.k8s.aws/region"] == "us-east-1"
        assert annotations["services.k8s.aws/deletion-policy"] == "delete"
