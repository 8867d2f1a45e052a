"""The legacy operator's custom resources (``sagemaker.aws.amazon.com/v1``); the client is shared with the
ACK emulator (``sandbox/common/kube.py``)."""

from __future__ import annotations

from ..common.kube import Gone, Kube, Resource

__all__ = [
    "BATCH_TRANSFORM_JOBS",
    "ENDPOINT_CONFIGS",
    "HOSTING_DEPLOYMENTS",
    "HYPERPARAMETER_TUNING_JOBS",
    "LEGACY_GROUP",
    "LEGACY_VERSION",
    "MODELS",
    "TRAINING_JOBS",
    "Gone",
    "Kube",
    "Resource",
]

LEGACY_GROUP = "sagemaker.aws.amazon.com"
LEGACY_VERSION = "v1"

TRAINING_JOBS = Resource(LEGACY_GROUP, LEGACY_VERSION, "trainingjobs")
HOSTING_DEPLOYMENTS = Resource(LEGACY_GROUP, LEGACY_VERSION, "hostingdeployments")
MODELS = Resource(LEGACY_GROUP, LEGACY_VERSION, "models")
ENDPOINT_CONFIGS = Resource(LEGACY_GROUP, LEGACY_VERSION, "endpointconfigs")
HYPERPARAMETER_TUNING_JOBS = Resource(LEGACY_GROUP, LEGACY_VERSION, "hyperparametertuningjobs")
BATCH_TRANSFORM_JOBS = Resource(LEGACY_GROUP, LEGACY_VERSION, "batchtransformjobs")
