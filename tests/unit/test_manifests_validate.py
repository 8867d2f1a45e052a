"""Validation against the real CRD schemas: every problem reported, unknown fields are errors."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_k8s.exceptions import ConfigError, FieldError, ManifestValidationError
from sagemaker_k8s.manifests.flavours import (
    ACK_ENDPOINT,
    ACK_TRAINING_JOB,
    LEGACY_HOSTING_DEPLOYMENT,
    LEGACY_TRAINING_JOB,
)
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.validate import strict_schema, validate_resource, validation_errors


def tj() -> dict[str, Any]:
    return load_template("trainingjob")


def paths(obj: Any, kind: Any = LEGACY_TRAINING_JOB) -> dict[str, str]:
    return {e.path: e.message for e in validation_errors(kind, obj)}


def test_walkthrough_templates_are_valid() -> None:
    validate_resource(LEGACY_TRAINING_JOB, tj())
    validate_resource(LEGACY_HOSTING_DEPLOYMENT, load_template("hostingdeployment"))


def test_instance_count_minimum_message() -> None:
    obj = tj()
    obj["spec"]["resourceConfig"]["instanceCount"] = 0
    with pytest.raises(ManifestValidationError) as e:
        validate_resource(LEGACY_TRAINING_JOB, obj)
    assert e.value.errors == [FieldError("spec.resourceConfig.instanceCount", "must be >= 1 (got 0)")]
    assert "spec.resourceConfig.instanceCount: must be >= 1" in str(e.value)
    assert "TrainingJob 'xgboost-mnist'" in str(e.value)
    assert isinstance(e.value, ConfigError)


def test_every_problem_is_listed() -> None:
    obj = tj()
    spec = obj["spec"]
    spec["resourceConfig"]["instanceCount"] = 0
    spec["resourceConfig"]["instanceCont"] = 2  # typo: the server would prune it silently
    spec["algorithmSpecification"]["trainingInputMode"] = "Stream"
    spec["inputDataConfig"][1]["dataSource"]["s3DataSource"]["s3Uri"] = "ftp://x/y"
    del spec["region"]
    spec["trainingJobName"] = "x" * 64
    spec["hyperParameters"][0]["value"] = 5
    found = paths(obj)
    assert found == {
        "spec.resourceConfig.instanceCount": "must be >= 1 (got 0)",
        "spec.resourceConfig.instanceCont": "unknown field (the API server would silently drop it)",
        "spec.algorithmSpecification.trainingInputMode": "must be one of ['File', 'Pipe'] (got 'Stream')",
        "spec.inputDataConfig[1].dataSource.s3DataSource.s3Uri": (
            "must match pattern ^(https|s3)://([^/]+)/?(.*)$ (got 'ftp://x/y')"
        ),
        "spec.region": "is required",
        "spec.trainingJobName": f"must be at most 63 characters (got '{'x' * 56}...)",
        "spec.hyperParameters[0].value": "must be of type string (got 5)",
    }


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda o: o.update(extra=1), "extra"),
        (lambda o: o["spec"].update(Region="x"), "spec.Region"),
        (
            lambda o: o["spec"]["inputDataConfig"][0].update(channelname="x"),
            "spec.inputDataConfig[0].channelname",
        ),
        (lambda o: o["metadata"].update(labelz={}), "metadata.labelz"),
    ],
)
def test_unknown_fields_are_errors(mutate: Any, path: str) -> None:
    obj = tj()
    mutate(obj)
    assert "unknown field" in paths(obj)[path]


@pytest.mark.parametrize(
    ("obj_change", "path"),
    [
        ({"apiVersion": "sagemaker.aws.amazon.com/v2"}, "apiVersion"),
        ({"kind": "HostingDeployment"}, "kind"),
        ({"metadata": {"name": "Bad_Name"}}, "metadata.name"),
        ({"metadata": {"name": "ok", "namespace": "a.b"}}, "metadata.namespace"),
        ({"metadata": {"name": "ok", "labels": {"k": "bad value"}}}, "metadata.labels.k"),
        ({"metadata": {"name": "ok", "labels": {"bad key": "v"}}}, "metadata.labels"),
        ({"metadata": {"name": "ok", "annotations": {"k": 5}}}, "metadata.annotations.k"),
        ({"metadata": {"name": "ok", "labels": ["x"]}}, "metadata.labels"),
        ({"metadata": None}, "metadata"),
        ({"metadata": {}}, "metadata.name"),
        ({"spec": "{{ spec }}"}, "spec"),
    ],
)
def test_envelope_errors(obj_change: dict[str, Any], path: str) -> None:
    obj = tj()
    obj.update(obj_change)
    assert path in paths(obj)


def test_pattern_end_anchor_is_the_end_of_text() -> None:
    obj = tj()
    obj["spec"]["sageMakerEndpoint"] = "https://sagemaker.example.com\n"  # pattern ^(https|http)://.*$
    assert "spec.sageMakerEndpoint" in paths(obj)
    obj["spec"]["sageMakerEndpoint"] = "https://sagemaker.example.com"
    assert paths(obj) == {}


def test_hostile_metadata_values() -> None:
    obj = tj()
    obj["metadata"]["name"] = "xgboost\n---\nkind: Secret"
    obj["metadata"]["annotations"] = {"a.b/c": "{{ anything }}\nis: fine"}  # annotations carry any string
    assert set(paths(obj)) == {"metadata.name"}


def test_status_is_ignored() -> None:
    obj = tj()
    obj["status"] = {"trainingJobStatus": "Completed", "whatever": 1}
    assert paths(obj) == {}


def test_server_written_metadata_is_accepted() -> None:
    obj = tj()
    obj["metadata"].update(
        uid="u",
        resourceVersion="1",
        generation=1,
        creationTimestamp="t",
        finalizers=["sagemaker-operator-finalizer"],
    )
    assert paths(obj) == {}


def test_not_a_mapping() -> None:
    with pytest.raises(ManifestValidationError, match="must be an object"):
        validate_resource(LEGACY_TRAINING_JOB, ["x"])  # type: ignore[arg-type]


def test_hosting_deployment_errors() -> None:
    obj = load_template("hostingdeployment")
    obj["spec"]["productionVariants"][0]["initialInstanceCount"] = 0
    obj["spec"]["productionVariants"][0]["initialVariantWeight"] = "1"
    del obj["spec"]["models"][0]["executionRoleArn"]
    assert set(paths(obj, LEGACY_HOSTING_DEPLOYMENT)) == {
        "spec.productionVariants[0].initialInstanceCount",
        "spec.productionVariants[0].initialVariantWeight",
        "spec.models[0].executionRoleArn",
    }


def _ack_training_job() -> dict[str, Any]:
    return {
        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": "xgb"},
        "spec": {
            "trainingJobName": "xgb",
            "roleARN": "arn:aws:iam::123456789012:role/x",
            "algorithmSpecification": {"trainingImage": "img", "trainingInputMode": "File"},
            "outputDataConfig": {"s3OutputPath": "s3://b/p/output"},
            "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 5},
            "stoppingCondition": {"maxRuntimeInSeconds": 3600},
            "hyperParameters": {"num_round": "10"},
        },
    }


def test_ack_training_job_maps_and_spelling() -> None:
    obj = _ack_training_job()
    assert paths(obj, ACK_TRAINING_JOB) == {}
    obj["spec"]["roleArn"] = obj["spec"].pop("roleARN")  # legacy spelling
    obj["spec"]["hyperParameters"] = {"num_round": 10}  # map of strings in ACK
    found = paths(obj, ACK_TRAINING_JOB)
    assert found["spec.roleARN"] == "is required"
    assert "unknown field" in found["spec.roleArn"]
    assert found["spec.hyperParameters.num_round"].startswith("must be of type string")


def test_ack_endpoint_required() -> None:
    obj = {
        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
        "kind": "Endpoint",
        "metadata": {"name": "e"},
        "spec": {"endpointName": "e"},
    }
    assert paths(obj, ACK_ENDPOINT) == {"spec.endpointConfigName": "is required"}


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"type": "string", "nullable": True}, None, True),
        ({"type": "string"}, None, False),
        ({"type": "string", "enum": ["a"], "nullable": True}, None, True),
        ({"x-kubernetes-int-or-string": True}, 5, True),
        ({"x-kubernetes-int-or-string": True}, "5%", True),
        ({"x-kubernetes-int-or-string": True}, 1.5, False),
        ({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, {"any": 1}, True),
        ({"type": "object"}, {"any": 1}, False),
        ({"type": "object", "properties": {"a": {"type": "integer"}}}, {"a": 1, "b": 2}, False),
        ({"type": "object", "additionalProperties": {"type": "string"}}, {"k": "v"}, True),
        ({"type": "integer", "format": "int32"}, 2**40, True),
        ({"type": "string", "format": "date-time"}, "not a date", True),
        ({"type": "integer"}, 1.0, False),
        ({"type": "integer"}, True, False),
    ],
)
def test_strict_schema_extensions(schema: dict[str, Any], instance: Any, valid: bool) -> None:
    from jsonschema import Draft4Validator

    assert Draft4Validator(strict_schema(schema)).is_valid(instance) is valid


def test_strict_schema_keeps_fields_named_like_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {"format": {"type": "string"}, "description": {"type": "string"}},
    }
    strict = strict_schema(schema)
    assert set(strict["properties"]) == {"format", "description"}
    assert strict["additionalProperties"] is False
