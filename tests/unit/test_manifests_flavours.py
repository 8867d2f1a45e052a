"""ResourceKind constants address the right CRDs, and each CRD file really defines them."""

from __future__ import annotations

import pytest

from sagemaker_k8s.manifests import flavours as f
from sagemaker_k8s.manifests.load import load_crd


@pytest.mark.parametrize(
    ("kind", "api_version", "plural", "kind_name", "crd_file"),
    [
        (
            f.LEGACY_TRAINING_JOB,
            "sagemaker.aws.amazon.com/v1",
            "trainingjobs",
            "TrainingJob",
            "crds/legacy/trainingjobs.yaml",
        ),
        (
            f.LEGACY_HOSTING_DEPLOYMENT,
            "sagemaker.aws.amazon.com/v1",
            "hostingdeployments",
            "HostingDeployment",
            "crds/legacy/hostingdeployments.yaml",
        ),
        (
            f.LEGACY_HPO_JOB,
            "sagemaker.aws.amazon.com/v1",
            "hyperparametertuningjobs",
            "HyperparameterTuningJob",
            "crds/legacy/hyperparametertuningjobs.yaml",
        ),
        (
            f.LEGACY_BATCH_TRANSFORM_JOB,
            "sagemaker.aws.amazon.com/v1",
            "batchtransformjobs",
            "BatchTransformJob",
            "crds/legacy/batchtransformjobs.yaml",
        ),
        (
            f.LEGACY_MODEL,
            "sagemaker.aws.amazon.com/v1",
            "models",
            "Model",
            "crds/legacy/models.yaml",
        ),
        (
            f.ACK_TRAINING_JOB,
            "sagemaker.services.k8s.aws/v1alpha1",
            "trainingjobs",
            "TrainingJob",
            "crds/ack/trainingjobs.yaml",
        ),
        (
            f.ACK_ENDPOINT,
            "sagemaker.services.k8s.aws/v1alpha1",
            "endpoints",
            "Endpoint",
            "crds/ack/endpoints.yaml",
        ),
    ],
)
def test_kind_constants(
    kind: f.ResourceKind, api_version: str, plural: str, kind_name: str, crd_file: str
) -> None:
    assert kind.api_version == api_version
    assert (kind.plural, kind.kind, kind.crd_file) == (plural, kind_name, crd_file)
    assert kind_name in str(kind)


@pytest.mark.parametrize("kind", f.ALL_KINDS, ids=str)
def test_crd_file_defines_the_kind(kind: f.ResourceKind) -> None:
    crd = load_crd(kind)
    assert crd["spec"]["names"]["kind"] == kind.kind
    assert kind.version in [v["name"] for v in crd["spec"]["versions"]]
    spec_props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    if kind.name_field is not None:
        assert kind.name_field in spec_props
    else:  # the controller always generates the SageMaker name and reports it in status
        assert kind is f.LEGACY_MODEL
    status_props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"][
        "properties"
    ]
    if kind.status_table.field:
        assert kind.status_table.field in status_props
    else:  # ACK Model and EndpointConfig: conditions only
        assert kind.is_ack and "conditions" in status_props
    for field in kind.status_table.reason_fields:
        assert field in status_props


def test_hpo_name_limit_and_flavour() -> None:
    assert f.LEGACY_HPO_JOB.name_max_length == 32
    assert f.ACK_ENDPOINT.is_ack and not f.LEGACY_TRAINING_JOB.is_ack


def test_kind_for() -> None:
    assert f.kind_for("sagemaker.aws.amazon.com/v1", "TrainingJob") is f.LEGACY_TRAINING_JOB
    assert f.kind_for("sagemaker.services.k8s.aws/v1alpha1", "TrainingJob") is f.ACK_TRAINING_JOB
    with pytest.raises(KeyError):
        f.kind_for(
            "sagemaker.aws.amazon.com/v1", "HyperParameterTuningJob"
        )  # ACK spelling on the legacy group


def test_kinds_are_hashable_and_frozen() -> None:
    assert len({*f.ALL_KINDS}) == len(f.ALL_KINDS)
    with pytest.raises(AttributeError):
        f.LEGACY_TRAINING_JOB.plural = "x"  # type: ignore[misc]
