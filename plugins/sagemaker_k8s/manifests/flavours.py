"""The custom-resource kinds this package drives, one constant per (API group, kind).

A ``ResourceKind`` carries everything the hooks need to address the resource (group, version,
plural), where its CRD schema lives for validation, and how to read its status -- so supporting
the ACK controller next to the end-of-life legacy operator is a matter of picking a constant.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagemaker_k8s.manifests.status import (
    ACK_ENDPOINT_TABLE,
    ACK_TRAINING_JOB_TABLE,
    LEGACY_BATCH_TRANSFORM_TABLE,
    LEGACY_HOSTING_DEPLOYMENT_TABLE,
    LEGACY_HPO_JOB_TABLE,
    LEGACY_MODEL_TABLE,
    LEGACY_TRAINING_JOB_TABLE,
    StatusTable,
)

LEGACY_GROUP = "sagemaker.aws.amazon.com"
LEGACY_VERSION = "v1"
ACK_GROUP = "sagemaker.services.k8s.aws"
ACK_VERSION = "v1alpha1"


@dataclass(frozen=True)
class ResourceKind:
    """One custom-resource kind.

    ``crd_file`` is relative to ``include/manifests``. ``name_field`` is the spec field holding
    the SageMaker-side name and ``name_max_length`` SageMaker's limit for it (32 for tuning jobs);
    ``name_field`` is None for a kind whose SageMaker name the controller always generates
    (``Model``: ``<cr name>-<uid hex>``, reported in ``status.sageMakerModelName``).
    """

    group: str
    version: str
    plural: str
    kind: str
    crd_file: str
    status_table: StatusTable
    name_field: str | None
    name_max_length: int = 63

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def is_ack(self) -> bool:
        return self.group == ACK_GROUP

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}/{self.version}"


def _legacy(
    plural: str, kind: str, table: StatusTable, name_field: str | None, max_len: int = 63
) -> ResourceKind:
    return ResourceKind(
        LEGACY_GROUP, LEGACY_VERSION, plural, kind, f"crds/legacy/{plural}.yaml", table, name_field, max_len
    )


def _ack(plural: str, kind: str, table: StatusTable, name_field: str, max_len: int = 63) -> ResourceKind:
    return ResourceKind(
        ACK_GROUP, ACK_VERSION, plural, kind, f"crds/ack/{plural}.yaml", table, name_field, max_len
    )


LEGACY_TRAINING_JOB = _legacy("trainingjobs", "TrainingJob", LEGACY_TRAINING_JOB_TABLE, "trainingJobName")
LEGACY_HOSTING_DEPLOYMENT = _legacy(
    "hostingdeployments", "HostingDeployment", LEGACY_HOSTING_DEPLOYMENT_TABLE, "endpointName"
)
# Note the lowercase "p": the legacy kind is HyperparameterTuningJob, ACK's is HyperParameterTuningJob.
LEGACY_HPO_JOB = _legacy(
    "hyperparametertuningjobs",
    "HyperparameterTuningJob",
    LEGACY_HPO_JOB_TABLE,
    "hyperParameterTuningJobName",
    32,
)
LEGACY_BATCH_TRANSFORM_JOB = _legacy(
    "batchtransformjobs", "BatchTransformJob", LEGACY_BATCH_TRANSFORM_TABLE, "transformJobName"
)
# A stand-alone Model (not a HostingDeployment's child): batch scoring's model for one transform.
LEGACY_MODEL = _legacy("models", "Model", LEGACY_MODEL_TABLE, None)
ACK_TRAINING_JOB = _ack("trainingjobs", "TrainingJob", ACK_TRAINING_JOB_TABLE, "trainingJobName")
ACK_ENDPOINT = _ack("endpoints", "Endpoint", ACK_ENDPOINT_TABLE, "endpointName")

ALL_KINDS: tuple[ResourceKind, ...] = (
    LEGACY_TRAINING_JOB,
    LEGACY_HOSTING_DEPLOYMENT,
    LEGACY_HPO_JOB,
    LEGACY_BATCH_TRANSFORM_JOB,
    LEGACY_MODEL,
    ACK_TRAINING_JOB,
    ACK_ENDPOINT,
)


def kind_for(api_version: str, kind: str) -> ResourceKind:
    """The known ``ResourceKind`` for a manifest's apiVersion and kind; ``KeyError`` if unknown."""
    for candidate in ALL_KINDS:
        if candidate.api_version == api_version and candidate.kind == kind:
            return candidate
    raise KeyError(f"{kind} ({api_version}) is not a kind this package drives")
