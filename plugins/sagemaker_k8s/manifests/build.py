"""Turn a CR template plus typed run values into a manifest, by setting fields -- never by templating text.

Setting values structurally means a run value containing YAML, JSON, newlines or ``{{ jinja }}``
can only ever land in the one string field it was meant for. The specs (``manifests.specs``)
validate themselves on construction so an invalid one cannot reach the API server.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, LEGACY_TRAINING_JOB, ResourceKind
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.specs import (
    HostingDeploymentSpec,
    HyperValue,
    TrainingJobSpec,
    hyperparameter_value,
)

__all__ = [
    "HostingDeploymentSpec",
    "TrainingJobSpec",
    "build_hosting_deployment",
    "build_training_job",
    "hyperparameter_value",
    "merge_hyperparameters",
    "xgboost_image",
]


def start_manifest(template: Mapping[str, Any], kind: ResourceKind, spec: Any) -> dict[str, Any]:
    """Deep-copied template with apiVersion/kind checked and fresh metadata."""
    if not isinstance(template, Mapping):
        raise ConfigError("template must be a mapping", param="template")
    if template.get("apiVersion") != kind.api_version or template.get("kind") != kind.kind:
        raise ConfigError(
            f"template is {template.get('kind')!r} ({template.get('apiVersion')!r}), "
            f"expected {kind.kind} ({kind.api_version})",
            param="template",
        )
    obj = copy.deepcopy(dict(template))
    old = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    obj["metadata"] = {
        "name": spec.cr_name,
        "namespace": spec.namespace,
        "labels": {**(old.get("labels") or {}), **spec.labels},
        "annotations": {**(old.get("annotations") or {}), **spec.annotations},
    }
    if not isinstance(obj.get("spec"), dict):
        raise ConfigError("template has no spec mapping", param="template")
    obj.pop("status", None)
    return obj


def section(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    if not isinstance(value, dict):
        raise ConfigError(f"template field {key!r} must be a mapping", param="template")
    return value


def merge_hyperparameters(template_list: Any, overrides: Mapping[str, HyperValue]) -> list[dict[str, str]]:
    """The legacy ``[{name, value}]`` list: template order, overridden values, new names appended."""
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in template_list or ():
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ConfigError("template hyperParameters must be a list of {name, value}", param="template")
        name = item["name"]
        if name in seen:
            raise ConfigError(f"template lists hyperparameter {name!r} twice", param="template")
        seen.add(name)
        value = overrides[name] if name in overrides else item.get("value", "")
        result.append({"name": name, "value": hyperparameter_value(name, value)})
    result.extend(
        {"name": n, "value": hyperparameter_value(n, v)} for n, v in overrides.items() if n not in seen
    )
    return result


def fill_job_definition(
    body: dict[str, Any], spec: TrainingJobSpec, *, role_field: str, uri_field: str
) -> None:
    """A training job's role, image, output path, channels, resources and stopping condition, set in
    ``body`` (a TrainingJob's spec, or a tuning job's ``trainingJobDefinition``); the role and S3 URI
    fields are spelt per flavour (legacy ``roleArn``/``s3Uri``, ACK ``roleARN``/``s3URI``)."""
    body[role_field] = spec.role_arn
    algorithm = section(body, "algorithmSpecification")
    algorithm.pop("algorithmName", None)  # trainingImage and algorithmName are mutually exclusive
    algorithm["trainingImage"] = spec.image
    algorithm.setdefault("trainingInputMode", "File")
    section(body, "outputDataConfig")["s3OutputPath"] = spec.s3_uri("output")  # trailing "/" matters
    channels = body.get("inputDataConfig")
    if not isinstance(channels, list) or not channels:
        raise ConfigError("template has no inputDataConfig channels", param="template")
    for channel in channels:
        if not isinstance(channel, dict) or not isinstance(channel.get("channelName"), str):
            raise ConfigError("every template channel needs a channelName", param="template")
        section(section(channel, "dataSource"), "s3DataSource")[uri_field] = spec.s3_uri(
            channel["channelName"]
        )
    section(body, "resourceConfig").update(
        instanceType=spec.instance_type, instanceCount=spec.instance_count, volumeSizeInGB=spec.volume_size_gb
    )
    section(body, "stoppingCondition")["maxRuntimeInSeconds"] = spec.max_runtime_seconds


def build_training_job(template: Mapping[str, Any], spec: TrainingJobSpec) -> dict[str, Any]:
    """A legacy TrainingJob manifest for ``spec`` from the walkthrough template."""
    obj = start_manifest(template, LEGACY_TRAINING_JOB, spec)
    body = obj["spec"]
    body["trainingJobName"] = spec.job_name  # explicit: the operator tracks exactly this job
    body["region"] = spec.region
    fill_job_definition(body, spec, role_field="roleArn", uri_field="s3Uri")
    body["hyperParameters"] = merge_hyperparameters(body.get("hyperParameters"), spec.hyperparameters)
    return obj


def build_hosting_deployment(template: Mapping[str, Any], spec: HostingDeploymentSpec) -> dict[str, Any]:
    """A legacy HostingDeployment manifest serving ``spec.model_data_url`` from the walkthrough template."""
    obj = start_manifest(template, LEGACY_HOSTING_DEPLOYMENT, spec)
    body = obj["spec"]
    body["endpointName"] = spec.endpoint_name
    body["region"] = spec.region
    models = body.get("models")
    if not isinstance(models, list) or not models or not isinstance(models[0], dict):
        raise ConfigError("template needs at least one model in spec.models", param="template")
    model = models[0]
    model["executionRoleArn"] = spec.role_arn
    containers = model.get("containers")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
        raise ConfigError("template model needs a containers list", param="template")
    primary = model.get("primaryContainer")
    container = next((c for c in containers if c.get("containerHostname") == primary), containers[0])
    container["image"] = spec.image
    container["modelDataUrl"] = spec.model_data_url
    variants = [
        v
        for v in body.get("productionVariants") or ()
        if isinstance(v, dict) and v.get("modelName") == model.get("name")
    ]
    if not variants:
        raise ConfigError(
            f"no productionVariant serves template model {model.get('name')!r}", param="template"
        )
    for variant in variants:
        variant["instanceType"] = spec.instance_type
        variant["initialInstanceCount"] = spec.instance_count
    return obj
