"""HostingDeployment reconciler: the legacy operator's endpoint lifecycle (controllers/hostingdeployment).

The real controller creates child Model and EndpointConfig CRs named
``<model name | HD name>-<HD generation>-<HD uid hex>`` whose own controllers create the SageMaker
resources, then calls CreateEndpoint and mirrors DescribeEndpoint into the status every 5 s
(there is no terminal state: ``InService`` is "done", ``Failed`` carries ``failureReason``).
This emulator creates the SageMaker model and endpoint config under those same names directly
(no child CRs), and deletes the endpoint, configs and models on CR deletion before it releases
the finalizer. Spec updates of a live endpoint (UpdateEndpoint) are not emulated.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from .convert import endpoint_config_request, model_request
from .kube import HOSTING_DEPLOYMENTS
from .naming import child_name, generated_name

log = logging.getLogger(__name__)

FINALIZER = "sagemaker-operator-finalizer"
INITIAL = "SynchronizingK8sJobWithSageMaker"
RECONCILING = "ReconcilingEndpoint"
DELETABLE = frozenset({"InService", "Failed", "OutOfService"})


def endpoint_url(region: str, name: str) -> str:
    return f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{name}/invocations"


def reconcile(ctx, cr: dict) -> None:
    meta, spec = cr["metadata"], cr.get("spec", {})
    deleting = bool(meta.get("deletionTimestamp"))
    if not (cr.get("status") or {}).get("endpointStatus") and not deleting:
        cr = _write_status(ctx, cr, {"endpointStatus": INITIAL})
    if not deleting and FINALIZER not in meta.get("finalizers", []):
        cr["metadata"].setdefault("finalizers", []).append(FINALIZER)
        cr = ctx.kube.replace(HOSTING_DEPLOYMENTS, cr)

    fault = ctx.faults.for_object("HostingDeployment", meta)
    region = spec.get("region", ctx.default_region)
    name = spec.get("endpointName") or generated_name(meta["name"], meta["uid"])
    generation = meta.get("generation", 1)
    model_names = {m["name"]: child_name(m["name"], generation, meta["uid"]) for m in spec.get("models", [])}
    config_name = child_name(meta["name"], generation, meta["uid"])

    if fault and fault.action == "reconcile-error":
        return _reconciling(ctx, cr, f"Unable to describe endpoint: {fault.reason}")
    problem = ctx.credential_problem("sagemaker:CreateEndpoint")
    if problem:
        return _reconciling(ctx, cr, f"Unable to describe endpoint: {problem}")
    sm = ctx.sagemaker(region)
    try:
        described = _describe(sm, name)
        if deleting:
            return _delete(ctx, sm, cr, described, name)
        if described is None:
            for model in spec.get("models", []):
                if not _exists(sm.describe_model, ModelName=model_names[model["name"]]):
                    sm.create_model(**model_request(model, model_names[model["name"]]))
            if not _exists(sm.describe_endpoint_config, EndpointConfigName=config_name):
                variants = spec.get("productionVariants", [])
                sm.create_endpoint_config(**endpoint_config_request(variants, model_names, config_name))
            if fault:
                ctx.inject_sagemaker_fault(name, fault)
            sm.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
            log.info("created endpoint %s for %s/%s", name, meta["namespace"], meta["name"])
            described = _describe(sm, name)
    except (ClientError, BotoCoreError) as e:
        return _reconciling(ctx, cr, f"Unable to reconcile endpoint: {e}")
    _write_status(ctx, cr, _status_from(described, region, model_names))


def _status_from(described: dict, region: str, model_names: dict[str, str]) -> dict:
    variants = [
        {
            "variantName": v["VariantName"],
            "currentInstanceCount": v.get("CurrentInstanceCount", 0),
            "currentWeight": int(v.get("CurrentWeight", 0)),  # int64 in the CRD
            "desiredInstanceCount": v.get("DesiredInstanceCount", 0),
            "desiredWeight": int(v.get("DesiredWeight", 0)),
        }
        for v in described.get("ProductionVariants", [])
    ]
    name = described["EndpointName"]
    status = {
        "endpointStatus": described["EndpointStatus"],
        "endpointName": name,
        "endpointArn": described["EndpointArn"],
        "endpointConfigName": described["EndpointConfigName"],
        "endpointUrl": endpoint_url(region, name),
        "creationTime": _rfc3339(described.get("CreationTime")),
        "lastModifiedTime": _rfc3339(described.get("LastModifiedTime")),
        "modelNames": [{"name": k, "value": v} for k, v in model_names.items()],
        "productionVariants": variants,
    }
    if described.get("FailureReason"):
        status["failureReason"] = described["FailureReason"]
    return {k: v for k, v in status.items() if v not in (None, "")}


def _delete(ctx, sm, cr, described, name) -> None:
    if described is not None:
        if described["EndpointStatus"] in DELETABLE:
            sm.delete_endpoint(EndpointName=name)
        _write_status(ctx, cr, {**(cr.get("status") or {}), "endpointStatus": "Deleting"})
        return
    # Setting deletionTimestamp raised metadata.generation, so the children carry earlier generations:
    # delete those of every generation, as the real controller deletes all its child CRs.
    meta = cr["metadata"]
    for generation in range(1, meta.get("generation", 1) + 1):
        config_name = child_name(meta["name"], generation, meta["uid"])
        if _exists(sm.describe_endpoint_config, EndpointConfigName=config_name):
            sm.delete_endpoint_config(EndpointConfigName=config_name)
        for model in cr.get("spec", {}).get("models", []):
            model_name = child_name(model["name"], generation, meta["uid"])
            if _exists(sm.describe_model, ModelName=model_name):
                sm.delete_model(ModelName=model_name)
    cr["metadata"]["finalizers"] = [f for f in cr["metadata"].get("finalizers", []) if f != FINALIZER]
    ctx.kube.replace(HOSTING_DEPLOYMENTS, cr)


def _describe(sm, name: str) -> dict | None:
    try:
        return sm.describe_endpoint(EndpointName=name)
    except ClientError as e:
        if "Could not find" in str(e):
            return None
        raise


def _exists(describe, **kwargs) -> bool:
    try:
        describe(**kwargs)
    except ClientError as e:
        if "Could not find" in str(e):
            return False
        raise
    return True


def _rfc3339(value) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _reconciling(ctx, cr: dict, message: str) -> None:
    status = {**(cr.get("status") or {}), "endpointStatus": RECONCILING, "additional": message}
    _write_status(ctx, cr, status)


def _write_status(ctx, cr: dict, status: dict) -> dict:
    if status == (cr.get("status") or {}):
        return cr
    cr["status"] = status
    return ctx.kube.replace_status(HOSTING_DEPLOYMENTS, cr)
