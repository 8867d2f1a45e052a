"""The six ACK SageMaker kinds the emulator reconciles, and the annotations the ACK runtime reads.

Per kind, as the real controller's ``generator.yaml`` and ``pkg/resource/<kind>/`` define it
(aws-controllers-k8s/sagemaker-controller at dc497070, runtime v0.62): the finalizer
``finalizers.sagemaker.services.k8s.aws/<Kind>``, the SageMaker operations (``Create``/``Describe`` and
``Stop`` for jobs, ``Delete`` for the rest), the "modifying" statuses of ``pkg/common`` (ResourceSynced is
False while the SageMaker status is one of them), the terminal error codes, and the 404 test of
``sdkFind`` (the simulator words some 404s like moto; both wordings count).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.kube import Resource

GROUP = "sagemaker.services.k8s.aws"
VERSION = "v1alpha1"

# runtime apis/core/v1alpha1/annotations.go
REGION = "services.k8s.aws/region"
DEFAULT_REGION = "services.k8s.aws/default-region"  # on the Namespace
DELETION_POLICY = "services.k8s.aws/deletion-policy"
NAMESPACE_DELETION_POLICY = "sagemaker.services.k8s.aws/deletion-policy"  # {service}.services.k8s.aws/...
ADOPTION_POLICY = "services.k8s.aws/adoption-policy"
ADOPTION_FIELDS = "services.k8s.aws/adoption-fields"
ADOPTED = "services.k8s.aws/adopted"
READ_ONLY = "services.k8s.aws/read-only"
# pkg/resource/endpoint/hooks.go
LAST_ENDPOINT_CONFIG = f"{GROUP}/last-endpoint-config-for-update"

JOB_TERMINAL_CODES = frozenset(
    {
        "ResourceNotFound",
        "ResourceInUse",
        "InvalidParameterCombination",
        "InvalidParameterValue",
        "MissingParameter",
    }
)
HOSTING_TERMINAL_CODES = frozenset(
    {"InvalidParameterCombination", "InvalidParameterValue", "MissingParameter"}
)
JOB_MODIFYING = frozenset({"InProgress", "Stopping"})
ENDPOINT_MODIFYING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


@dataclass(frozen=True)
class AckKind:
    kind: str  # the CR kind, also the fault-rule kind
    plural: str
    noun: str  # the SageMaker API noun: Create<noun>, Describe<noun>, <noun>Name, <noun>Arn
    modifying: frozenset[str]
    terminal_codes: frozenset[str]
    not_found_code: str
    not_found_prefixes: tuple[str, ...]  # "" = any message with that code
    delete_verb: str  # "Stop" (jobs: nothing to delete) or "Delete"
    requeue_on_success: int  # seconds, the real resync of a synced CR (documentation only)

    @property
    def resource(self) -> Resource:
        return Resource(GROUP, VERSION, self.plural)

    @property
    def finalizer(self) -> str:
        return f"finalizers.{GROUP}/{self.kind}"

    @property
    def name_field(self) -> str:
        """The spec field naming the SageMaker resource (required: ACK generates no names)."""
        return self.noun[0].lower() + self.noun[1:] + "Name"

    @property
    def name_key(self) -> str:
        return f"{self.noun}Name"

    @property
    def arn_key(self) -> str:
        return f"{self.noun}Arn"

    @property
    def status_key(self) -> str:
        return f"{self.noun}Status"

    def operation(self, verb: str) -> str:
        return f"{verb}{self.noun}"


TRAINING_JOB = AckKind(
    "TrainingJob", "trainingjobs", "TrainingJob", JOB_MODIFYING, JOB_TERMINAL_CODES,
    "ValidationException", ("Requested resource not found", "Could not find training job"), "Stop", 300,
)  # fmt: skip
HYPERPARAMETER_TUNING_JOB = AckKind(
    "HyperParameterTuningJob", "hyperparametertuningjobs", "HyperParameterTuningJob", JOB_MODIFYING,
    JOB_TERMINAL_CODES, "ResourceNotFound", ("",), "Stop", 36000,
)  # fmt: skip
TRANSFORM_JOB = AckKind(
    "TransformJob", "transformjobs", "TransformJob", JOB_MODIFYING, JOB_TERMINAL_CODES,
    "ValidationException", ("Could not find requested job with name", "Could not find transform job"), "Stop",
    36000,
)  # fmt: skip
MODEL = AckKind(
    "Model", "models", "Model", frozenset(), HOSTING_TERMINAL_CODES,
    "ValidationException", ("Could not find model",), "Delete", 36000,
)  # fmt: skip
ENDPOINT_CONFIG = AckKind(
    "EndpointConfig", "endpointconfigs", "EndpointConfig", frozenset(), HOSTING_TERMINAL_CODES,
    "ValidationException", ("Could not find endpoint configuration",), "Delete", 36000,
)  # fmt: skip
ENDPOINT = AckKind(
    "Endpoint", "endpoints", "Endpoint", ENDPOINT_MODIFYING, HOSTING_TERMINAL_CODES | {"EndpointUpdateError"},
    "ValidationException", ("Could not find endpoint",), "Delete", 30,
)  # fmt: skip

KINDS = (MODEL, ENDPOINT_CONFIG, ENDPOINT, TRAINING_JOB, HYPERPARAMETER_TUNING_JOB, TRANSFORM_JOB)
