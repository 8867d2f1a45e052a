"""The state machine the legacy Model and EndpointConfig controllers share (controllers/model,
controllers/endpointconfig): one CR backs one immutable SageMaker object.

One pass, as the real controllers do it:
1. empty ``status.status`` -> ``SynchronizingK8sJobWithSageMaker``; add the finalizer (unless deleting);
2. Describe the SageMaker object named ``<cr name>-<cr uid hex>`` (63 characters at most);
3. deleting: Delete it (a 404 is fine); missing: Create it; differs from the spec: Delete + Create
   (SageMaker models and endpoint configs cannot be updated); tags, region and endpoint are not compared;
4. status ``Created`` (or ``Deleted`` once gone) with the SageMaker name and ARN, ``lastUpdateTime``;
   any error -> ``Error`` with the wrapped message in ``additional``;
5. deleting: remove the finalizer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from .common import (
    INITIAL,
    Problem,
    aws_problem,
    is_not_found,
    needs_write,
    now,
    with_finalizer,
    without_empty,
    without_finalizer,
)
from .kube import Resource
from .naming import generated_name

CREATED, DELETED, ERROR = "Created", "Deleted", "Error"


@dataclass(frozen=True)
class Kind:
    """What differs between the Model and the EndpointConfig controller."""

    name: str  # "Model" | "EndpointConfig", for fault rules and messages
    noun: str  # "model" | "endpointConfig": the real messages spell it both ways
    resource: Resource
    name_field: str  # status field holding the SageMaker name
    arn_field: str  # status field holding the ARN
    name_key: str  # DescribeX response keys
    arn_key: str
    not_found: str  # the clientwrapper's 404 message prefix
    describe: Callable  # (sagemaker client, name) -> description
    create: Callable  # (sagemaker client, spec, name) -> None
    delete: Callable  # (sagemaker client, name) -> None
    matches: Callable  # (spec, description) -> bool


def reconcile(kind: Kind, ctx, cr: dict) -> None:
    meta, spec = cr["metadata"], cr.get("spec") or {}
    deleting = bool(meta.get("deletionTimestamp"))
    if not (cr.get("status") or {}).get("status"):
        cr = _write_status(kind, ctx, cr, INITIAL, None)
    cr = with_finalizer(ctx, kind.resource, cr)
    name = generated_name(meta["name"], meta["uid"])
    sm = ctx.sagemaker(spec.get("region") or ctx.default_region)
    described = None
    try:
        described = _describe(kind, ctx, sm, cr, name)
        if described is not None and (deleting or not kind.matches(spec, described)):
            _delete(kind, sm, name)
            described = None
        if described is None and not deleting:
            described = _create(kind, sm, spec, name)
    except Problem as e:
        _write_status(kind, ctx, cr, ERROR, described, str(e))
        return
    cr = _write_status(kind, ctx, cr, CREATED if described is not None else DELETED, described)
    if deleting:
        ctx.kube.replace(kind.resource, without_finalizer(cr))


def _describe(kind: Kind, ctx, sm, cr: dict, name: str) -> dict | None:
    message = f"Unable to get SageMaker {kind.name} description"
    fault = ctx.faults.for_object(kind.name, cr["metadata"])
    if fault is not None and fault.action == "reconcile-error":
        raise Problem(f"{message}: {fault.reason}")
    problem = ctx.credential_problem(f"sagemaker:Describe{kind.name}")
    if problem:
        raise Problem(f"{message}: {problem}")
    try:
        return kind.describe(sm, name)
    except ClientError as e:
        if is_not_found(e, kind.not_found):
            return None
        raise aws_problem(e, message) from e
    except BotoCoreError as e:
        raise aws_problem(e, message) from e


def _delete(kind: Kind, sm, name: str) -> None:
    message = f"Unable to delete SageMaker {kind.noun}: Unable to delete SageMaker {kind.name}"
    try:
        kind.delete(sm, name)
    except ClientError as e:
        if not is_not_found(e, kind.not_found):
            raise aws_problem(e, message) from e
    except BotoCoreError as e:
        raise aws_problem(e, message) from e


def _create(kind: Kind, sm, spec: dict, name: str) -> dict:
    outer = f"Unable to create SageMaker {kind.noun}"
    try:
        kind.create(sm, spec, name)
    except (ClientError, BotoCoreError) as e:
        raise aws_problem(e, f"{outer}: Unable to create SageMaker {kind.name}") from e
    try:
        described = kind.describe(sm, name)
    except ClientError as e:
        if not is_not_found(e, kind.not_found):
            raise aws_problem(e, f"{outer}: Unable to get SageMaker {kind.noun} description") from e
        raise Problem(f"{outer}: Creation failed, {kind.noun} does not exist after creation") from e
    except BotoCoreError as e:
        raise aws_problem(e, f"{outer}: Unable to get SageMaker {kind.noun} description") from e
    return described


def _write_status(
    kind: Kind, ctx, cr: dict, status: str, described: dict | None, additional: str = ""
) -> dict:
    """updateStatusWithAdditional: name and ARN come from the description, or are cleared."""
    old = cr.get("status") or {}
    new = without_empty(
        {
            **old,
            "status": status,
            "additional": additional,
            kind.name_field: (described or {}).get(kind.name_key),
            kind.arn_field: (described or {}).get(kind.arn_key),
            "lastUpdateTime": now(),
        }
    )
    if not needs_write(old, new, "lastUpdateTime"):
        return cr
    cr["status"] = new
    return ctx.kube.replace_status(kind.resource, cr)
