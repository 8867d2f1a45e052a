"""BatchTransformJob reconciler: the legacy operator's controllers/batchtransformjob, one pass per call.

Unlike the other controllers, every step ends the pass (the real one requeues at once):
1. empty status -> ``SynchronizingK8sJobWithSageMaker`` (with ``lastCheckTime``);
2. deleting: DescribeTransformJob; missing -> drop the finalizer; InProgress -> StopTransformJob;
   Stopping -> status; Completed/Failed/Stopped -> drop the finalizer; an API error -> as below, and a 400
   also drops the finalizer;
3. no finalizer -> add it; no ``spec.transformJobName`` -> ``<name>-<uid hex>`` (63 characters) written back;
4. DescribeTransformJob (any ``ValidationException`` counts as "no such job") -> missing: CreateTransformJob
   from the spec; found: compare the spec with the description (model, input, output, resources, batch
   strategy, payload and concurrency; empty CompressionType/SplitType/AssembleWith equal ``None``) and,
   on a difference, write ``Failed`` with "Updates to ... are not supported" -- which the status write
   that follows in the same pass overwrites, as in the real controller -- then the status:
   ``transformJobStatus`` (SageMaker's), ``sageMakerTransformJobName``, ``lastCheckTime``. SageMaker's
   FailureReason is **not** copied: ``additional`` stays empty when SageMaker fails the job
   (DescribeTransformJob tells why);
5. an API error (CreateTransformJob rejected, a describe failure) -> ``Failed`` with the AWS error as the
   Go SDK prints it (``Code: message\\n\\tstatus code: 400, request id: ...``) in ``additional``; a 400
   is final until the spec changes, other errors are retried.
Terminal CRs (Completed/Failed/Stopped, or a rejected create) are not reconciled again until the spec changes.

Faults (faults.py) on the CR: ``fail:<reason>`` (SageMaker fails the transform job with that FailureReason),
``hang`` (InProgress until stopped), ``stop``; ``reconcile-error:<message>`` fails DescribeTransformJob.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from .common import INITIAL, needs_write, now, without_empty
from .common import without_finalizer as _without_finalizer
from .convert import to_api
from .kube import BATCH_TRANSFORM_JOBS as RES
from .naming import generated_name

log = logging.getLogger(__name__)

FINALIZER = "sagemaker-operator-finalizer"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
COMPARED = ("ModelName", "TransformInput", "TransformOutput", "TransformResources", "BatchStrategy",
            "MaxConcurrentTransforms", "MaxPayloadInMB")  # fmt: skip


class ApiError(Exception):
    """An AWS error as ``awserr.RequestFailure.Error()`` prints it, with what the controller checks."""

    def __init__(self, text: str, status: int | None, throttled: bool = False) -> None:
        super().__init__(text)
        self.status, self.throttled = status, throttled

    @classmethod
    def of(cls, error: Exception) -> ApiError:
        if not isinstance(error, ClientError):
            return cls(str(error), None)
        err, meta = error.response.get("Error", {}), error.response.get("ResponseMetadata", {})
        code, message = err.get("Code", ""), err.get("Message", "")
        status = meta.get("HTTPStatusCode")
        text = f"{code}: {message}\n\tstatus code: {status}, request id: {meta.get('RequestId', '')}"
        return cls(text, status, code == "ThrottlingException" and message == "Rate exceeded")


def reconcile(ctx, cr: dict) -> bool:
    """One pass; True when the real controller would not requeue (a terminal job, a rejected create)."""
    meta, spec = cr["metadata"], cr.setdefault("spec", {})
    if not (cr.get("status") or {}).get("transformJobStatus"):
        _write(ctx, cr, {"transformJobStatus": INITIAL})
        return False
    sm = ctx.sagemaker(spec.get("region") or ctx.default_region)
    if meta.get("deletionTimestamp"):
        _reconcile_deletion(ctx, cr, sm)
        return False
    if FINALIZER not in (meta.get("finalizers") or []):
        meta.setdefault("finalizers", []).append(FINALIZER)
        ctx.kube.replace(RES, cr)
        return False
    if not spec.get("transformJobName"):
        spec["transformJobName"] = generated_name(meta["name"], meta["uid"])
        ctx.kube.replace(RES, cr)
        return False
    name = spec["transformJobName"]
    try:
        described = _describe(ctx, cr, sm, name)
    except ApiError as e:
        return _api_failure(ctx, cr, name, e)
    if described is None:
        fault = ctx.faults.for_object("BatchTransformJob", meta)
        if fault is not None and fault.action in ("fail", "hang", "stop"):
            ctx.inject_sagemaker_fault(name, fault)
        try:
            sm.create_transform_job(**_request(spec))
        except (ClientError, BotoCoreError) as e:
            return _api_failure(ctx, cr, name, ApiError.of(e))
        log.info("created transform job %s for %s/%s", name, meta["namespace"], meta["name"])
        return False
    differences = _differences(spec, described)
    if differences:
        cr = _write(ctx, cr, _status(name, "Failed", _spec_differs(differences)))
    status = described["TransformJobStatus"]
    _write(ctx, cr, _status(name, status))
    return status not in ("InProgress", "Stopping")


def _reconcile_deletion(ctx, cr: dict, sm) -> None:
    name = (cr.get("spec") or {}).get("transformJobName")
    try:
        described = _describe(ctx, cr, sm, name) if name else None
    except ApiError as e:
        _api_failure(ctx, cr, name or "", e, allow_remove_finalizer=True)
        return
    if described is None or described["TransformJobStatus"] in TERMINAL:
        if FINALIZER in (cr["metadata"].get("finalizers") or []):
            ctx.kube.replace(RES, _without_finalizer(cr))
        return
    if FINALIZER not in (cr["metadata"].get("finalizers") or []):
        return
    if described["TransformJobStatus"] == "InProgress":
        try:
            sm.stop_transform_job(TransformJobName=name)
        except (ClientError, BotoCoreError) as e:
            _api_failure(ctx, cr, name, ApiError.of(e))
    elif described["TransformJobStatus"] == "Stopping":
        _write(ctx, cr, _status(name, "Stopping"))


def _describe(ctx, cr: dict, sm, name: str) -> dict | None:
    fault = ctx.faults.for_object("BatchTransformJob", cr["metadata"])
    if fault is not None and fault.action == "reconcile-error":
        raise ApiError(fault.reason, None)
    problem = ctx.credential_problem("sagemaker:DescribeTransformJob")
    if problem:
        raise ApiError(problem, None)
    try:
        return sm.describe_transform_job(TransformJobName=name)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ValidationException":
            return None
        raise ApiError.of(e) from e
    except BotoCoreError as e:
        raise ApiError.of(e) from e


def _api_failure(ctx, cr: dict, name: str, error: ApiError, allow_remove_finalizer: bool = False) -> bool:
    """handleSageMakerApiFailure: ``Failed`` + the error; True when the controller gives up (a 400)."""
    cr = _write(ctx, cr, _status(name, "Failed", str(error)))
    final = error.status == 400 and not error.throttled
    if final and allow_remove_finalizer:
        ctx.kube.replace(RES, _without_finalizer(cr))
    return final and not allow_remove_finalizer


def _request(spec: dict) -> dict:
    """CreateCreateBatchTransformJobInputFromSpec (tags as Key/Value; environment as a map)."""
    return to_api(spec)


def _differences(spec: dict, described: dict) -> list[str]:
    request = _request(spec)
    out = []
    for key in COMPARED:
        if _normalised(key, request.get(key)) != _normalised(key, described.get(key)):
            out.append(f"{key}: spec {request.get(key)!r} != SageMaker {described.get(key)!r}")
    return out


def _normalised(key: str, value):
    if key == "TransformInput" and isinstance(value, dict):
        value = {"CompressionType": "None", "SplitType": "None", **without_empty(value)}
    if key == "TransformOutput" and isinstance(value, dict):
        value = {"AssembleWith": "None", **without_empty(value)}
    return value if value not in ("", [], {}) else None


def _spec_differs(differences: list[str]) -> str:
    return (
        "Updates to *batchtransformjob.BatchTransformJob are not supported; the resource no longer matches "
        'the SageMaker resource. The job will be marked as "Failed" and no modifications to the existing '
        "SageMaker job will be made until the update is reverted. The differences that prevent tracking of "
        "the SageMaker resource are:\n" + "\n".join(differences)
    )


def _status(name: str, status: str, additional: str = "") -> dict:
    return {
        "transformJobStatus": status,
        "sageMakerTransformJobName": name,
        "additional": additional,
        "lastCheckTime": now(),
    }


def _write(ctx, cr: dict, fields: dict) -> dict:
    """Replace the whole status (a fresh struct each time in the real controller) when it changed."""
    new, old = without_empty(fields), cr.get("status") or {}
    if not needs_write(old, new, "lastCheckTime"):
        return cr
    cr["status"] = new
    return ctx.kube.replace_status(RES, cr)
