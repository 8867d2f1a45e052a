"""The custom-resource kinds this package drives, one constant per (API group, kind).

A ``ResourceKind`` carries everything the hooks need to address the resource (group, version,
plural), where its CRD schema lives for validation, and how to read its status -- so supporting
the ACK controller next to the end-of-life legacy operator is a matter of picking a constant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.status import (
    ACK_CONDITIONS_ONLY_TABLE,
    ACK_ENDPOINT_TABLE,
    ACK_HPO_JOB_TABLE,
    ACK_TRAINING_JOB_TABLE,
    ACK_TRANSFORM_JOB_TABLE,
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
    def kubectl_name(self) -> str:
        """How kubectl is told the kind: ACK's fully qualified (``endpoints`` alone is the core
        Endpoints), the legacy kinds by their unambiguous singular (``hostingdeployment``)."""
        return f"{self.plural}.{self.group}" if self.is_ack else self.kind.lower()

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
ACK_HPO_JOB = _ack(
    "hyperparametertuningjobs",
    "HyperParameterTuningJob",
    ACK_HPO_JOB_TABLE,
    "hyperParameterTuningJobName",
    32,
)
ACK_TRANSFORM_JOB = _ack("transformjobs", "TransformJob", ACK_TRANSFORM_JOB_TABLE, "transformJobName")
# ACK names every SageMaker object in the spec (it generates none), so Model has a name field here.
ACK_MODEL = _ack("models", "Model", ACK_CONDITIONS_ONLY_TABLE, "modelName")
ACK_ENDPOINT_CONFIG = _ack(
    "endpointconfigs", "EndpointConfig", ACK_CONDITIONS_ONLY_TABLE, "endpointConfigName"
)

ALL_KINDS: tuple[ResourceKind, ...] = (
    LEGACY_TRAINING_JOB,
    LEGACY_HOSTING_DEPLOYMENT,
    LEGACY_HPO_JOB,
    LEGACY_BATCH_TRANSFORM_JOB,
    LEGACY_MODEL,
    ACK_TRAINING_JOB,
    ACK_ENDPOINT,
    ACK_HPO_JOB,
    ACK_TRANSFORM_JOB,
    ACK_MODEL,
    ACK_ENDPOINT_CONFIG,
)


#: The kind playing each role in the pipeline, per flavour. ACK has no HostingDeployment: serving
#: is an Endpoint (with a Model and an EndpointConfig per served model).
KINDS_BY_ROLE: dict[str, dict[str, ResourceKind]] = {
    "training": {"legacy": LEGACY_TRAINING_JOB, "ack": ACK_TRAINING_JOB},
    "tuning": {"legacy": LEGACY_HPO_JOB, "ack": ACK_HPO_JOB},
    "model": {"legacy": LEGACY_MODEL, "ack": ACK_MODEL},
    "transform": {"legacy": LEGACY_BATCH_TRANSFORM_JOB, "ack": ACK_TRANSFORM_JOB},
    "serving": {"legacy": LEGACY_HOSTING_DEPLOYMENT, "ack": ACK_ENDPOINT},
}


def kind_of(role: str, flavour: str) -> ResourceKind:
    """The ``ResourceKind`` for a pipeline role (``training``, ``tuning``, ...) on ``flavour``."""
    try:
        return KINDS_BY_ROLE[role][flavour]
    except KeyError:
        raise KeyError(f"no {role!r} kind for flavour {flavour!r}") from None


def kind_for(api_version: str, kind: str) -> ResourceKind:
    """The known ``ResourceKind`` for a manifest's apiVersion and kind; ``KeyError`` if unknown."""
    for candidate in ALL_KINDS:
        if candidate.api_version == api_version and candidate.kind == kind:
            return candidate
    raise KeyError(f"{kind} ({api_version}) is not a kind this package drives")


#: One CRD whose presence says a controller flavour is installed (its training kind).
FLAVOUR_MARKER_CRDS = {
    "legacy": f"{LEGACY_TRAINING_JOB.plural}.{LEGACY_GROUP}",
    "ack": f"{ACK_TRAINING_JOB.plural}.{ACK_GROUP}",
}
INSTALL_HINTS = {
    "legacy": "kubectl apply -f include/manifests/crds/legacy/ (and the operator: "
    "kubectl apply -f include/manifests/operator/installer.yaml)",
    "ack": "helm install -n ack-system --create-namespace ack-sagemaker-controller "
    "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart --set aws.region=<region>",
}


def choose_flavour(requested: str, installed_crds: Iterable[str]) -> str:
    """``legacy`` or ``ack``: ``requested`` itself, or for ``auto`` the one flavour whose CRDs are on the
    cluster. Both or neither installed is a ``ConfigError`` that says how to choose."""
    if requested in FLAVOUR_MARKER_CRDS:
        return requested
    if requested != "auto":
        raise ConfigError(
            f"flavour: expected auto, legacy or ack, got {str(requested)[:40]!r}", param="flavour"
        )
    installed = set(installed_crds)
    found = [flavour for flavour, crd in FLAVOUR_MARKER_CRDS.items() if crd in installed]
    if len(found) == 1:
        return found[0]
    if found:
        raise ConfigError(
            "flavour: auto found both controllers' CRDs "
            f"({', '.join(FLAVOUR_MARKER_CRDS.values())}); choose one: trigger with "
            '{"flavour": "legacy"} or {"flavour": "ack"} '
            "(or remove the CRDs of the controller you no longer run)",
            param="flavour",
        )
    raise ConfigError(
        "flavour: auto found neither controller's CRDs "
        f"({' nor '.join(FLAVOUR_MARKER_CRDS.values())}); install one: {INSTALL_HINTS['ack']}  "
        f"or, for the end-of-life operator: {INSTALL_HINTS['legacy']}",
        param="flavour",
    )
