"""The ACK flavour's manifests (``sagemaker.services.k8s.aws/v1alpha1``), built from the same typed
specs as the legacy ones, by setting fields structurally.

What differs from the legacy operator (see the notes on both controllers):

* no ``spec.region``: the region goes in the CR's ``services.k8s.aws/region`` annotation, which
  the controller prefers over the namespace default and its own ``--aws-region``;
* ``hyperParameters`` is a map of strings; spellings follow the AWS API (``roleARN``, ``s3URI``,
  ``modelDataURL``, ``executionRoleARN``);
* ACK generates no names and has no HostingDeployment: serving is a ``Model`` and an
  ``EndpointConfig`` per served model (a *revision*, both immutable in SageMaker) and one
  ``Endpoint`` whose ``spec.endpointConfigName`` a promotion changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.build import fill_job_definition, section, start_manifest
from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT, ACK_ENDPOINT_CONFIG, ACK_MODEL, ACK_TRAINING_JOB
from sagemaker_k8s.manifests.naming import is_valid_dns_label, is_valid_sagemaker_name, short_hash
from sagemaker_k8s.manifests.specs import (
    HostingDeploymentSpec,
    HyperValue,
    TrainingJobSpec,
    hyperparameter_value,
)

#: The per-resource region annotation the ACK runtime reads first.
REGION_ANNOTATION = "services.k8s.aws/region"
#: ``retain`` keeps the SageMaker object when the CR is deleted; ``delete`` (the chart's default) not.
DELETION_POLICY_ANNOTATION = "services.k8s.aws/deletion-policy"
ADOPTION_POLICY_ANNOTATION = "services.k8s.aws/adoption-policy"
ADOPTION_FIELDS_ANNOTATION = "services.k8s.aws/adoption-fields"


def adoption_annotations(kind, sagemaker_name: str) -> dict[str, str]:
    """ACK's annotations to adopt the existing SageMaker resource named ``sagemaker_name``
    (``adopt-or-create``: track it if it exists, create it otherwise; the spec stays the desired one)."""
    import json

    return {
        ADOPTION_POLICY_ANNOTATION: "adopt-or-create",
        ADOPTION_FIELDS_ANNOTATION: json.dumps({kind.name_field: sagemaker_name}, separators=(",", ":")),
    }


def with_ack_annotations(obj: dict[str, Any], region: str) -> dict[str, Any]:
    """``obj`` with what every ACK CR of the pipeline carries: its region (over the namespace's and the
    controller's default) and an explicit ``delete`` deletion policy, so that deleting the CR (``on_kill``,
    cleanup, pruning, retention) stops the job or removes the SageMaker object whatever the chart's
    ``deletionPolicy`` default is (``retain`` would leave a killed job running, billed)."""
    obj["metadata"]["annotations"][REGION_ANNOTATION] = region
    obj["metadata"]["annotations"][DELETION_POLICY_ANNOTATION] = "delete"
    return obj


def merge_hyperparameter_map(template_map: Any, overrides: Mapping[str, HyperValue]) -> dict[str, str]:
    """ACK's ``{name: value}`` map: the template's values, overridden and extended name by name."""
    if template_map is None:
        template_map = {}
    if not isinstance(template_map, Mapping) or not all(isinstance(k, str) for k in template_map):
        raise ConfigError("template hyperParameters must be a map of name to value", param="template")
    merged = {name: hyperparameter_value(name, value) for name, value in template_map.items()}
    merged.update({name: hyperparameter_value(name, value) for name, value in overrides.items()})
    return merged


def build_ack_training_job(template: Mapping[str, Any], spec: TrainingJobSpec) -> dict[str, Any]:
    """An ACK TrainingJob manifest for ``spec`` from the controller's XGBoost sample."""
    obj = with_ack_annotations(start_manifest(template, ACK_TRAINING_JOB, spec), spec.region)
    body = obj["spec"]
    body["trainingJobName"] = spec.job_name
    fill_job_definition(body, spec, role_field="roleARN", uri_field="s3URI")
    body["hyperParameters"] = merge_hyperparameter_map(body.get("hyperParameters"), spec.hyperparameters)
    return obj


def revision_stem(endpoint_name: str) -> str:
    """What every revision name of the endpoint starts with (before ``-<hash>``)."""
    return endpoint_name.lower()[:54].rstrip("-")


def serving_revision(endpoint_name: str, model_data_url: str) -> str:
    """The Model and EndpointConfig name (CR and SageMaker) serving ``model_data_url`` on the endpoint:
    ``<endpoint>-<8 hex of the endpoint and model URL>``, so a retry or a rerun of one promotion finds
    its own."""
    suffix = short_hash(endpoint_name, model_data_url)
    name = f"{revision_stem(endpoint_name)}-{suffix}"
    if not (is_valid_dns_label(name) and is_valid_sagemaker_name(name)):
        raise ConfigError(
            f"endpoint name {endpoint_name[:80]!r} gives no valid revision name", param="endpoint_name"
        )
    return name


@dataclass(frozen=True)
class AckServing:
    """The three manifests that serve one model on the pipeline's endpoint."""

    model: dict[str, Any]
    endpoint_config: dict[str, Any]
    endpoint: dict[str, Any]

    @property
    def revision(self) -> str:
        return self.model["metadata"]["name"]


def build_ack_serving(
    templates: Mapping[str, Mapping[str, Any]],
    spec: HostingDeploymentSpec,
    *,
    endpoint_annotations: Mapping[str, str],
) -> AckServing:
    """Model + EndpointConfig (named for the revision, labelled like the endpoint) and the Endpoint
    (``spec.cr_name``, with ``endpoint_annotations``) serving ``spec.model_data_url``.

    ``templates`` maps ``model``, ``endpoint_config`` and ``endpoint`` to their loaded templates.
    """
    revision = serving_revision(spec.endpoint_name, spec.model_data_url)
    part = replace(spec, cr_name=revision, annotations={})

    model = with_ack_annotations(start_manifest(templates["model"], ACK_MODEL, part), spec.region)
    body = model["spec"]
    body["modelName"] = revision
    body["executionRoleARN"] = spec.role_arn
    container = section(body, "primaryContainer")
    container["image"] = spec.image
    container["modelDataURL"] = spec.model_data_url

    config = with_ack_annotations(
        start_manifest(templates["endpoint_config"], ACK_ENDPOINT_CONFIG, part), spec.region
    )
    body = config["spec"]
    body["endpointConfigName"] = revision
    variants = body.get("productionVariants")
    if not isinstance(variants, list) or len(variants) != 1 or not isinstance(variants[0], dict):
        raise ConfigError("the EndpointConfig template needs exactly one productionVariant", param="template")
    variants[0].update(
        modelName=revision, instanceType=spec.instance_type, initialInstanceCount=spec.instance_count
    )

    endpoint_spec = replace(spec, annotations=dict(endpoint_annotations))
    endpoint = with_ack_annotations(
        start_manifest(templates["endpoint"], ACK_ENDPOINT, endpoint_spec), spec.region
    )
    endpoint["spec"].update(endpointName=spec.endpoint_name, endpointConfigName=revision)
    return AckServing(model, config, endpoint)
