"""HostingDeployment reconciler: the legacy operator's endpoint lifecycle
(controllers/hosting/hostingdeployment_controller.go), one pass per call.

1. empty status -> ``SynchronizingK8sJobWithSageMaker``; add the finalizer (unless deleting);
   endpoint name = ``spec.endpointName`` or ``<name>-<uid hex>`` (not written back into the spec);
2. read the desired SageMaker endpoint config and model names from the current generation's child
   CRs (errors ignored: the fields stay empty until the children have them);
3. DescribeEndpoint (an error -> ``ReconcilingEndpoint``, text in ``additional``). Missing:
   deleting -> delete every child CR and remove the finalizer; otherwise create the children (see
   children.py; the Model and EndpointConfig controllers, model.py and endpointconfig.py, create the
   SageMaker objects), and once their SageMaker names exist, CreateEndpoint. Until then the status is
   ``ReconcilingEndpoint`` with the real controller's "Awaiting ..."/"does not have a ..." message;
4. ``InService`` and not deleting: spec updates. A spec change raised metadata.generation, so the
   children of the new generation are created next to the old ones; once the new endpoint config
   exists and differs from the described one, UpdateEndpoint (with ``retainAllVariantProperties`` and
   ``excludeRetainedVariantProperties``). When the described config is the desired one, the children of
   other generations are deleted. Like the real controller, an update SageMaker rolled back (InService on
   the old config, FailureReason set) is retried on every pass until the spec changes, and reverting the
   spec makes yet another generation (and another update). Other states: nothing until InService;
5. ``InService``/``Failed`` while deleting -> DeleteEndpoint; the status then always shows ``Deleting``;
6. the status (updateStatusWithAdditional): ``endpointStatus``, ``additional``, ``lastCheckTime``; from
   the description (when there is one) ``endpointName``, ``endpointArn``, ``failureReason``,
   ``creationTime``, ``lastModifiedTime``, ``productionVariants``; always ``endpointConfigName`` = the
   *desired* config (not the described one), ``modelNames`` and ``endpointUrl``.

Faults (faults.py): ``reconcile-error`` fails DescribeEndpoint; ``endpoint-fail`` makes SageMaker fail
the CreateEndpoint; ``update-fail`` makes it fail (and roll back) every UpdateEndpoint while armed.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from . import children
from .common import (
    INITIAL,
    Problem,
    aws_problem,
    is_not_found,
    needs_write,
    now,
    rfc3339,
    with_finalizer,
    without_empty,
    without_finalizer,
)
from .kube import HOSTING_DEPLOYMENTS
from .naming import generated_name

log = logging.getLogger(__name__)

RECONCILING = "ReconcilingEndpoint"
NOT_FOUND = "Could not find endpoint"


def endpoint_url(region: str, name: str) -> str:
    return f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{name}/invocations"


class _Pass:
    """The reconcile request context: what one pass knows, and what its status writes show."""

    def __init__(self, ctx, cr: dict) -> None:
        self.ctx, self.cr = ctx, cr
        spec, meta = cr.get("spec") or {}, cr["metadata"]
        self.deleting = bool(meta.get("deletionTimestamp"))
        self.region = spec.get("region") or ctx.default_region
        self.endpoint = ""
        self.described: dict | None = None
        self.config_name = ""
        self.model_names: dict[str, str] = {}
        self.fault = ctx.faults.for_object("HostingDeployment", meta)

    def write_status(self, endpoint_status: str, additional: str = "") -> None:
        old = self.cr.get("status") or {}
        status = {**old, "endpointStatus": endpoint_status, "additional": additional, "lastCheckTime": now()}
        if self.described is not None:
            status.update(_from_description(self.described))
        status["modelNames"] = [{"name": k, "value": v} for k, v in self.model_names.items()]
        status["endpointConfigName"] = self.config_name
        url = endpoint_url(self.region, self.endpoint) if self.endpoint and self.region else ""
        status["endpointUrl"] = url
        status = without_empty(status)
        if needs_write(old, status, "lastCheckTime"):
            self.cr["status"] = status
            self.cr = self.ctx.kube.replace_status(HOSTING_DEPLOYMENTS, self.cr)


def reconcile(ctx, cr: dict) -> None:
    p = _Pass(ctx, cr)
    if not (cr.get("status") or {}).get("endpointStatus"):
        p.write_status(INITIAL)
    spec, meta = p.cr.get("spec") or {}, p.cr["metadata"]
    p.endpoint = spec.get("endpointName") or generated_name(meta["name"], meta["uid"])
    p.cr = with_finalizer(ctx, HOSTING_DEPLOYMENTS, p.cr)
    try:
        p.config_name = children.sagemaker_endpoint_config_name(ctx, p.cr)
    except Problem as e:
        log.debug("%s/%s: unable to get EndpointConfigName: %s", meta["namespace"], meta["name"], e)
    try:
        p.model_names = children.sagemaker_model_names(ctx, p.cr)
    except Problem as e:
        log.debug("%s/%s: unable to get model names: %s", meta["namespace"], meta["name"], e)
    try:
        _reconcile(p)
    except Problem as e:
        p.write_status(RECONCILING, str(e))


def _reconcile(p: _Pass) -> None:
    p.described = _describe(p)
    if p.described is None:
        if p.deleting:
            _cleanup_and_remove_finalizer(p)
            return
        try:
            _create_endpoint(p)
        except Problem as e:
            raise e.wrap("Unable to create Endpoint") from None
        p.described = _describe(p)
        if p.described is None:  # the simulator answers at once; a real SageMaker might lag
            raise Problem("Unable to describe SageMaker endpoint: the endpoint was created but is not found")
    status = p.described["EndpointStatus"]
    if status == "InService" and not p.deleting:
        try:
            _handle_updates(p)
        except Problem as e:
            raise e.wrap("Unable to update SageMaker endpoint") from None
    if status in ("InService", "Failed") and p.deleting:
        try:
            _sagemaker(p).delete_endpoint(EndpointName=p.endpoint)
        except ClientError as e:
            if not is_not_found(e, NOT_FOUND):
                raise aws_problem(e, "Unable to delete Endpoint") from e
        except BotoCoreError as e:
            raise aws_problem(e, "Unable to delete Endpoint") from e
    p.write_status("Deleting" if p.deleting else status)


def _sagemaker(p: _Pass):
    return p.ctx.sagemaker(p.region)


def _describe(p: _Pass) -> dict | None:
    message = "Unable to describe SageMaker endpoint"
    if p.fault is not None and p.fault.action == "reconcile-error":
        raise Problem(f"{message}: {p.fault.reason}")
    problem = p.ctx.credential_problem("sagemaker:DescribeEndpoint")
    if problem:
        raise Problem(f"{message}: {problem}")
    try:
        return _sagemaker(p).describe_endpoint(EndpointName=p.endpoint)
    except ClientError as e:
        if is_not_found(e, NOT_FOUND):
            return None
        raise aws_problem(e, message) from e
    except BotoCoreError as e:
        raise aws_problem(e, message) from e


def _reconcile_resources(p: _Pass, delete_unused: bool) -> None:
    try:
        children.reconcile_models(p.ctx, p.cr, delete_unused)
    except Problem as e:
        raise e.wrap("Unable to reconcile models") from None
    try:
        children.reconcile_endpoint_config(p.ctx, p.cr, delete_unused)
    except Problem as e:
        raise e.wrap("Unable to reconcile EndpointConfigs") from None


def _create_endpoint(p: _Pass) -> None:
    try:
        _reconcile_resources(p, delete_unused=False)
    except Problem as e:
        raise e.wrap("Unable to reconcile Endpoint resources") from None
    try:
        config_name = children.sagemaker_endpoint_config_name(p.ctx, p.cr)
    except Problem as e:
        raise e.wrap("Unable to create CreateEndpointInput") from None
    if p.fault is not None:
        p.ctx.inject_sagemaker_fault(p.endpoint, p.fault)
    tags = [{"Key": t["key"], "Value": t["value"]} for t in (p.cr.get("spec") or {}).get("tags") or []]
    try:
        _sagemaker(p).create_endpoint(EndpointName=p.endpoint, EndpointConfigName=config_name, Tags=tags)
    except (ClientError, BotoCoreError) as e:
        raise aws_problem(e, "Unable to create Endpoint") from e
    meta = p.cr["metadata"]
    log.info(
        "created endpoint %s (config %s) for %s/%s", p.endpoint, config_name, meta["namespace"], meta["name"]
    )


def _handle_updates(p: _Pass) -> None:
    try:
        _reconcile_resources(p, delete_unused=False)
    except Problem as e:
        raise e.wrap("Unable to reconcile endpoint resources") from None
    try:
        p.config_name = children.sagemaker_endpoint_config_name(p.ctx, p.cr)
    except Problem as e:
        raise e.wrap("Unable to get SageMaker EndpointConfigName for endpoint") from None
    if not p.config_name:
        raise Problem("Unable to get SageMaker EndpointConfigName for endpoint")
    if p.described.get("EndpointConfigName") == p.config_name:
        try:  # up to date: clean up the children of earlier generations
            _reconcile_resources(p, delete_unused=True)
        except Problem as e:
            raise e.wrap("Unable to reconcile endpoint resources") from None
        return
    _update_endpoint(p)


def _update_endpoint(p: _Pass) -> None:
    spec = p.cr.get("spec") or {}
    if p.fault is not None and p.fault.action == "update-fail":
        p.ctx.inject_sagemaker_fault(p.endpoint, p.fault)
    else:  # an update-fail annotation or rule removed since the last update: SageMaker behaves again
        p.ctx.withdraw_sagemaker_fault(p.endpoint, "update-fail")
    request = {"EndpointName": p.endpoint, "EndpointConfigName": p.config_name}
    if spec.get("retainAllVariantProperties") is not None:
        request["RetainAllVariantProperties"] = spec["retainAllVariantProperties"]
    if spec.get("excludeRetainedVariantProperties"):
        request["ExcludeRetainedVariantProperties"] = [
            {"VariantPropertyType": v["variantPropertyType"]}
            for v in spec["excludeRetainedVariantProperties"]
        ]
    log.info(
        "updating endpoint %s: %s -> %s", p.endpoint, p.described.get("EndpointConfigName"), p.config_name
    )
    try:
        _sagemaker(p).update_endpoint(**request)
    except ClientError as e:
        if is_not_found(e, NOT_FOUND):
            raise Problem("Unable to update Endpoint: Endpoint not found") from e
        raise aws_problem(e, "Unable to update Endpoint") from e
    except BotoCoreError as e:
        raise aws_problem(e, "Unable to update Endpoint") from e


def _cleanup_and_remove_finalizer(p: _Pass) -> None:
    try:
        _reconcile_resources(p, delete_unused=True)
    except Problem as e:
        raise e.wrap("Unable to clean up HostingDeployment") from None
    p.ctx.kube.replace(HOSTING_DEPLOYMENTS, without_finalizer(p.cr))


def _from_description(described: dict) -> dict:
    variants = [
        {
            "variantName": v["VariantName"],
            "currentInstanceCount": v.get("CurrentInstanceCount"),
            "currentWeight": _int(v.get("CurrentWeight")),  # int64 in the CRD
            "desiredInstanceCount": v.get("DesiredInstanceCount"),
            "desiredWeight": _int(v.get("DesiredWeight")),
            "deployedImages": [
                {
                    "specifiedImage": i.get("SpecifiedImage"),
                    "resolvedImage": i.get("ResolvedImage"),
                    "resolutionTime": rfc3339(i.get("ResolutionTime")),
                }
                for i in v.get("DeployedImages") or []
            ],
        }
        for v in described.get("ProductionVariants") or []
    ]
    return {
        "endpointName": described.get("EndpointName"),
        "endpointArn": described.get("EndpointArn"),
        "failureReason": described.get("FailureReason"),
        "lastModifiedTime": rfc3339(described.get("LastModifiedTime")),
        "creationTime": rfc3339(described.get("CreationTime")),
        "productionVariants": [without_empty(v) for v in variants],
    }


def _int(value) -> int | None:
    return None if value is None else int(value)
