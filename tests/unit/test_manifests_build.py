"""Building manifests structurally from the walkthrough templates; hostile values stay data."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.build import (
    HostingDeploymentSpec,
    TrainingJobSpec,
    build_hosting_deployment,
    build_training_job,
    merge_hyperparameters,
    xgboost_image,
)
from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.validate import validate_resource

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
HOSTILE = "{{ ti.xcom_pull('x') }}\nkind: Secret\n---\n{\"a\": 1}"


def training_spec(**overrides: Any) -> TrainingJobSpec:
    values: dict[str, Any] = {
        "cr_name": "xgb-abc12345",
        "namespace": "ml",
        "job_name": "xgb-abc12345",
        "region": "us-east-1",
        "role_arn": ROLE,
        "image": xgboost_image("us-east-1"),
        "bucket": "my-bucket",
        "prefix": "xgboost-mnist",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "volume_size_gb": 10,
        "max_runtime_seconds": 3600,
        "hyperparameters": {"num_round": 20, "eta": 0.3},
        "labels": {"app.kubernetes.io/managed-by": "airflow"},
        "annotations": {"airflow.apache.org/run-id": "manual__2026-11-29T23:10:00+00:00"},
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
        "image": xgboost_image("us-east-1"),
        "model_data_url": "s3://my-bucket/p/output/job/output/model.tar.gz",
        "instance_type": "ml.m5.large",
        "instance_count": 1,
    }
    values.update(overrides)
    return HostingDeploymentSpec(**values)


@pytest.fixture
def tj_template() -> dict[str, Any]:
    return load_template("trainingjob")


@pytest.fixture
def hd_template() -> dict[str, Any]:
    return load_template("hostingdeployment")


def test_training_job_fields(tj_template: dict[str, Any]) -> None:
    obj = build_training_job(tj_template, training_spec())
    assert obj["metadata"] == {
        "name": "xgb-abc12345",
        "namespace": "ml",
        "labels": {"app.kubernetes.io/managed-by": "airflow"},
        "annotations": {"airflow.apache.org/run-id": "manual__2026-11-29T23:10:00+00:00"},
    }
    spec = obj["spec"]
    assert spec["trainingJobName"] == "xgb-abc12345"
    assert spec["region"] == "us-east-1"
    assert spec["roleArn"] == ROLE
    assert spec["algorithmSpecification"] == {
        "trainingImage": "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
        "trainingInputMode": "File",
    }
    assert spec["outputDataConfig"]["s3OutputPath"] == "s3://my-bucket/xgboost-mnist/output/"
    uris = {c["channelName"]: c["dataSource"]["s3DataSource"]["s3Uri"] for c in spec["inputDataConfig"]}
    assert uris == {
        "train": "s3://my-bucket/xgboost-mnist/train/",
        "validation": "s3://my-bucket/xgboost-mnist/validation/",
    }
    assert spec["resourceConfig"] == {"instanceCount": 2, "instanceType": "ml.m5.large", "volumeSizeInGB": 10}
    assert spec["stoppingCondition"] == {"maxRuntimeInSeconds": 3600}
    validate_resource(LEGACY_TRAINING_JOB, obj)


def test_hyperparameters_merge_in_template_order(tj_template: dict[str, Any]) -> None:
    obj = build_training_job(
        tj_template, training_spec(hyperparameters={"num_round": 20, "eta": 0.3, "subsample": 0.8})
    )
    hp = obj["spec"]["hyperParameters"]
    assert [h["name"] for h in hp] == [
        "max_depth",
        "eta",
        "gamma",
        "min_child_weight",
        "silent",
        "objective",
        "num_class",
        "num_round",
        "subsample",
    ]
    values = {h["name"]: h["value"] for h in hp}
    assert values == {
        "max_depth": "5",
        "eta": "0.3",
        "gamma": "4",
        "min_child_weight": "6",
        "silent": "0",
        "objective": "multi:softmax",
        "num_class": "10",
        "num_round": "20",
        "subsample": "0.8",
    }
    assert all(isinstance(v, str) for v in values.values())


def test_template_is_not_mutated(tj_template: dict[str, Any], hd_template: dict[str, Any]) -> None:
    before_tj, before_hd = copy.deepcopy(tj_template), copy.deepcopy(hd_template)
    build_training_job(tj_template, training_spec())
    build_hosting_deployment(hd_template, hosting_spec())
    assert (tj_template, hd_template) == (before_tj, before_hd)


def test_output_path_has_trailing_slash(tj_template: dict[str, Any]) -> None:
    obj = build_training_job(tj_template, training_spec())
    assert obj["spec"]["outputDataConfig"]["s3OutputPath"] == "s3://my-bucket/xgboost-mnist/output/"


@pytest.mark.parametrize(
    ("prefix", "output"), [("", "s3://my-bucket/output/"), ("a/b", "s3://my-bucket/a/b/output/")]
)
def test_prefix_variants(tj_template: dict[str, Any], prefix: str, output: str) -> None:
    obj = build_training_job(tj_template, training_spec(prefix=prefix))
    assert obj["spec"]["outputDataConfig"]["s3OutputPath"] == output
    assert "//" not in output.removeprefix("s3://")


def test_algorithm_name_is_replaced_by_image(tj_template: dict[str, Any]) -> None:
    tj_template["spec"]["algorithmSpecification"]["algorithmName"] = "some-marketplace-algo"
    obj = build_training_job(tj_template, training_spec())
    assert "algorithmName" not in obj["spec"]["algorithmSpecification"]


def test_status_in_template_is_dropped(tj_template: dict[str, Any]) -> None:
    tj_template["status"] = {"trainingJobStatus": "Completed"}
    tj_template["metadata"]["uid"] = "stale"
    obj = build_training_job(tj_template, training_spec())
    assert "status" not in obj and "uid" not in obj["metadata"]


def test_hostile_strings_are_carried_as_data(tj_template: dict[str, Any]) -> None:
    spec = training_spec(
        annotations={"airflow.apache.org/run-id": HOSTILE}, hyperparameters={"objective": "{{ x }}"}
    )
    obj = build_training_job(tj_template, spec)
    assert obj["metadata"]["annotations"]["airflow.apache.org/run-id"] == HOSTILE
    assert yaml.safe_load(yaml.safe_dump(obj)) == obj
    assert json.loads(json.dumps(obj)) == obj
    assert set(obj) == set(tj_template)  # nothing injected at the top level


def test_hosting_deployment_fields(hd_template: dict[str, Any]) -> None:
    obj = build_hosting_deployment(hd_template, hosting_spec())
    spec = obj["spec"]
    assert spec["endpointName"] == "xgb-ep"
    assert spec["region"] == "us-east-1"
    model = spec["models"][0]
    assert model["executionRoleArn"] == ROLE
    assert model["containers"][0]["image"] == "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
    assert model["containers"][0]["modelDataUrl"] == "s3://my-bucket/p/output/job/output/model.tar.gz"
    variant = spec["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.m5.large", 1)
    assert variant["modelName"] == model["name"]
    validate_resource(LEGACY_HOSTING_DEPLOYMENT, obj)


def test_hosting_primary_container_chosen(hd_template: dict[str, Any]) -> None:
    model = hd_template["spec"]["models"][0]
    model["containers"].insert(
        0, {"containerHostname": "sidecar", "image": "side", "modelDataUrl": "s3://b/k"}
    )
    model["primaryContainer"] = "xgboost"
    obj = build_hosting_deployment(hd_template, hosting_spec())
    containers = obj["spec"]["models"][0]["containers"]
    assert containers[0]["image"] == "side"
    assert containers[1]["modelDataUrl"] == "s3://my-bucket/p/output/job/output/model.tar.gz"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda t: t.update(kind="HostingDeployment"), "expected TrainingJob"),
        (lambda t: t.update(apiVersion="sagemaker.services.k8s.aws/v1alpha1"), "expected TrainingJob"),
        (lambda t: t.pop("spec"), "no spec"),
        (lambda t: t["spec"].pop("inputDataConfig"), "channels"),
        (lambda t: t["spec"]["inputDataConfig"].append("x"), "channelName"),
        (lambda t: t["spec"].update(resourceConfig="x"), "resourceConfig"),
        (lambda t: t["spec"]["hyperParameters"].append({"name": "eta", "value": "1"}), "twice"),
        (lambda t: t["spec"]["hyperParameters"].append({"value": "1"}), "name, value"),
    ],
)
def test_broken_training_templates(tj_template: dict[str, Any], mutate: Any, match: str) -> None:
    mutate(tj_template)
    with pytest.raises(ConfigError, match=match) as e:
        build_training_job(tj_template, training_spec())
    assert e.value.param == "template"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda t: t["spec"].update(models=[]), "at least one model"),
        (lambda t: t["spec"]["models"][0].update(containers=[]), "containers"),
        (lambda t: t["spec"]["productionVariants"][0].update(modelName="other"), "productionVariant"),
    ],
)
def test_broken_hosting_templates(hd_template: dict[str, Any], mutate: Any, match: str) -> None:
    mutate(hd_template)
    with pytest.raises(ConfigError, match=match):
        build_hosting_deployment(hd_template, hosting_spec())


def test_template_must_be_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        build_training_job(["x"], training_spec())  # type: ignore[arg-type]


def test_merge_with_empty_template_appends_in_order() -> None:
    assert merge_hyperparameters(None, {"b": 1, "a": 2}) == [
        {"name": "b", "value": "1"},
        {"name": "a", "value": "2"},
    ]


def test_merge_coerces_template_numbers() -> None:
    assert merge_hyperparameters([{"name": "n", "value": 5}], {}) == [{"name": "n", "value": "5"}]


@pytest.mark.parametrize(
    ("region", "image"),
    [
        ("us-west-2", "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"),
        ("us-east-1", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"),
        ("us-east-2", "825641698319.dkr.ecr.us-east-2.amazonaws.com/xgboost:1"),
        ("eu-west-1", "685385470294.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1"),
        ("cn-north-1", "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/xgboost:1"),
    ],
)
def test_xgboost_image(region: str, image: str) -> None:
    assert xgboost_image(region) == image


def test_walkthrough_template_image_matches_table(tj_template: dict[str, Any]) -> None:
    assert tj_template["spec"]["algorithmSpecification"]["trainingImage"] == xgboost_image("us-west-2")


@pytest.mark.parametrize("region", ["mars-north-1", "", "us-west-2\n", "US-WEST-2", None])
def test_xgboost_image_unknown_region(region: Any) -> None:
    with pytest.raises(ConfigError) as e:
        xgboost_image(region)
    assert e.value.param == "region"
