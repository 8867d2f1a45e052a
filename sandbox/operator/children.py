"""A HostingDeployment's child Model and EndpointConfig CRs (controllers/hosting/model_reconciler.go,
endpointconfig_reconciler.go).

* desired children: one Model per ``spec.models[]`` and one EndpointConfig, named
  ``<model name | HD name>-<HD generation>-<HD uid hex>`` (Kubernetes' 253-character rule), labelled
  ``owner_HostingDeployment_namespace`` / ``owner_HostingDeployment_name``, no owner references;
  none while the HD is being deleted;
* the EndpointConfig's variants name the *SageMaker* models, read from the child Models' status, so it
  can only be built once those exist;
* actual children: listed by those labels; missing ones are created, changed ones updated, and the
  others (earlier generations) deleted only when the caller says so (never during an update);
* the SageMaker names the HD uses come from the children's status.
"""

from __future__ import annotations

import copy

from kubernetes.client.exceptions import ApiException

from .common import Problem
from .kube import ENDPOINT_CONFIGS, MODELS, Resource
from .naming import child_name

API_VERSION = "sagemaker.aws.amazon.com/v1"


def owner_labels(hd: dict) -> dict[str, str]:
    meta = hd["metadata"]
    return {
        "owner_HostingDeployment_namespace": meta["namespace"],
        "owner_HostingDeployment_name": meta["name"],
    }


def _child(hd: dict, kind: str, base: str, spec: dict) -> dict:
    meta = hd["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {
            "name": child_name(base, meta.get("generation", 1), meta["uid"]),
            "namespace": meta["namespace"],
            "labels": owner_labels(hd),
        },
        "spec": spec,
    }


def _key(obj: dict) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


def _not_found(res: Resource, name: str) -> str:
    return f'{res.plural}.{res.group} "{name}" not found'


def _common_spec(hd: dict) -> dict:
    spec = hd.get("spec") or {}
    return {k: copy.deepcopy(spec[k]) for k in ("tags", "region", "sageMakerEndpoint") if spec.get(k)}


# -- models -------------------------------------------------------------------------------------------
def desired_models(hd: dict) -> dict[str, dict]:
    """Spec model name -> child Model CR (extractDesiredModelsFromHostingDeployment, with its checks)."""
    if hd["metadata"].get("deletionTimestamp"):
        return {}
    out: dict[str, dict] = {}
    for model in (hd.get("spec") or {}).get("models") or []:
        name = model.get("name")
        if not name:
            raise Problem("All models must have names")
        if name in out:
            raise Problem(f"Model names must be unique. Found multiple models with name '{name}'")
        containers = model.get("containers") or []
        by_host: dict[str, dict] = {}
        for container in containers:
            host = container.get("containerHostname")
            if not host:
                raise Problem("All containers must have hostnames")
            if host in by_host:
                raise Problem(
                    f"Model '{name}' container hostnames must be unique. "
                    f"Found multiple containers with hostname '{host}'"
                )
            by_host[host] = container
        spec = {"executionRoleArn": model.get("executionRoleArn")}
        if len(containers) > 1:  # the operator ignores primaryContainer then
            spec["containers"] = copy.deepcopy(containers)
        else:
            spec["primaryContainer"] = copy.deepcopy(_primary(model, by_host))
        for key in ("enableNetworkIsolation", "vpcConfig"):
            if model.get(key) is not None:
                spec[key] = copy.deepcopy(model[key])
        out[name] = _child(hd, "Model", name, {**spec, **_common_spec(hd)})
    return out


def _primary(model: dict, by_host: dict[str, dict]) -> dict:
    wanted = model.get("primaryContainer")
    if not wanted and len(by_host) == 1:
        wanted = next(iter(by_host))
    if not wanted:
        raise Problem(
            f"Unable to determine primary container for model '{model['name']}'. "
            "Either specify explicitly or provide only one container."
        )
    if wanted not in by_host:
        raise Problem(f"Unknown primary container '{wanted}'")
    return by_host[wanted]


def reconcile_models(ctx, hd: dict, delete_unused: bool) -> None:
    try:
        desired = {m["metadata"]["name"]: m for m in desired_models(hd).values()}
    except Problem as e:
        raise e.wrap("Unable to interpret models") from None
    _sync(ctx, MODELS, "model", hd, desired, delete_unused)


def sagemaker_model_names(ctx, hd: dict) -> dict[str, str]:
    """Spec model name -> SageMaker model name, from the current generation's child Models."""
    try:
        desired = desired_models(hd)
    except Problem as e:
        raise e.wrap("Unable to interpret models") from None
    names = {}
    for spec_name, model in desired.items():
        key = _key(model)
        actual = ctx.kube.get(MODELS, model["metadata"]["namespace"], model["metadata"]["name"])
        if actual is None:
            raise Problem(
                f"Awaiting model creation: '{key}' : {_not_found(MODELS, model['metadata']['name'])}"
            )
        status = actual.get("status") or {}
        if not status.get("sageMakerModelName"):
            raise Problem(f"Awaiting model name for '{key}' to not be empty. {_caused_by(status)}")
        names[spec_name] = status["sageMakerModelName"]
    return names


def _caused_by(status: dict) -> str:
    return f"Caused by: {status['additional']}" if status.get("additional") else ""


# -- endpoint config ----------------------------------------------------------------------------------
def desired_endpoint_config(ctx, hd: dict) -> dict | None:
    """The child EndpointConfig CR, its variants pointing at SageMaker model names; None when deleting."""
    if hd["metadata"].get("deletionTimestamp"):
        return None
    spec = hd.get("spec") or {}
    variants = []
    for variant in spec.get("productionVariants") or []:
        if not variant.get("variantName"):
            raise Problem("ProductionVariant has nil VariantName")
        if not variant.get("modelName"):
            raise Problem(f"ProductionVariant '{variant['variantName']}' has nil ModelName")
        variants.append(
            {**copy.deepcopy(variant), "modelName": _resolve_model(ctx, hd, variant["modelName"])}
        )
    config_spec = {"productionVariants": variants}
    if spec.get("kmsKeyId"):
        config_spec["kmsKeyId"] = spec["kmsKeyId"]
    return _child(hd, "EndpointConfig", hd["metadata"]["name"], {**config_spec, **_common_spec(hd)})


def _resolve_model(ctx, hd: dict, spec_model_name: str) -> str:
    meta = hd["metadata"]
    name = child_name(spec_model_name, meta.get("generation", 1), meta["uid"])
    key = f"{meta['namespace']}/{name}"
    model = ctx.kube.get(MODELS, meta["namespace"], name)
    if model is None:
        raise Problem(f"Unable to resolve SageMaker model name for model '{key}': {_not_found(MODELS, name)}")
    status = model.get("status") or {}
    if not status.get("sageMakerModelName"):
        raise Problem(f"Model '{key}' does not have a SageMakerModelName. {_caused_by(status)}")
    return status["sageMakerModelName"]


def reconcile_endpoint_config(ctx, hd: dict, delete_unused: bool) -> None:
    try:
        config = desired_endpoint_config(ctx, hd)
    except Problem as e:
        raise e.wrap("Unable to interpret HostingDeployment endpoint config") from None
    desired = {config["metadata"]["name"]: config} if config is not None else {}
    _sync(ctx, ENDPOINT_CONFIGS, "EndpointConfig", hd, desired, delete_unused)


def sagemaker_endpoint_config_name(ctx, hd: dict) -> str:
    """The current generation's SageMaker endpoint config name; "" while the HD is being deleted."""
    try:
        config = desired_endpoint_config(ctx, hd)
    except Problem as e:
        raise e.wrap("Unable to interpret HostingDeployment endpoint config") from None
    if config is None:
        return ""
    key = _key(config)
    actual = ctx.kube.get(ENDPOINT_CONFIGS, config["metadata"]["namespace"], config["metadata"]["name"])
    message = "Unable to get SageMaker EndpointConfig name"
    if actual is None:
        not_found = _not_found(ENDPOINT_CONFIGS, config["metadata"]["name"])
        raise Problem(f"{message}: Awaiting endpoint config creation: '{key}': {not_found}")
    status = actual.get("status") or {}
    if not status.get("sageMakerEndpointConfigName"):
        raise Problem(f"{message}: EndpointConfig '{key}' does not have a name. {_caused_by(status)}")
    return status["sageMakerEndpointConfigName"]


# -- create / update / delete ------------------------------------------------------------------------
def _sync(ctx, res: Resource, noun: str, hd: dict, desired: dict[str, dict], delete_unused: bool) -> None:
    actual = {o["metadata"]["name"]: o for o in ctx.kube.list(res, labels=owner_labels(hd))}
    for name, child in desired.items():
        current = actual.get(name)
        try:
            if current is None:
                ctx.kube.create(res, child["metadata"]["namespace"], child)
            elif current.get("spec") != child["spec"]:  # only the spec is reconciled; metadata is kept
                ctx.kube.replace(res, {**current, "spec": child["spec"]})
        except ApiException as e:
            verb = "create" if current is None else "update"
            raise Problem(f"Unable to {verb} Kubernetes {noun} '{_key(child)}': {e.reason}") from e
    if not delete_unused:
        return
    for name, child in actual.items():
        if name not in desired and not child["metadata"].get("deletionTimestamp"):
            try:
                ctx.kube.delete(res, child["metadata"]["namespace"], name)
            except ApiException as e:
                raise Problem(f"Unable to delete Kubernetes {noun} '{_key(child)}': {e.reason}") from e
