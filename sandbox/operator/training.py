"""TrainingJob reconciler: the legacy operator's state machine (controllers/trainingjob).

One pass, as the real controller does it:
1. empty status -> ``SynchronizingK8sJobWithSageMaker``;
2. SageMaker name = ``spec.trainingJobName`` or ``<name>-<uid hex>`` (written back into the spec);
3. add the finalizer ``sagemaker-operator-finalizer`` (unless deleting);
4. DescribeTrainingJob; missing -> CreateTrainingJob (or, when deleting, drop the finalizer);
5. InProgress while deleting -> StopTrainingJob; Completed -> ``status.modelPath`` =
   ``s3OutputPath + jobName + "/output/model.tar.gz"`` (plain concatenation, as the operator does);
   Completed/Failed/Stopped while deleting -> drop the finalizer;
6. mirror ``trainingJobStatus``, ``secondaryStatus`` (blank while Stopping) and ``additional``
   (FailureReason). AWS errors -> ``ReconcilingTrainingJob`` with the error in ``additional``.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from .convert import training_request
from .kube import TRAINING_JOBS
from .naming import generated_name

log = logging.getLogger(__name__)

FINALIZER = "sagemaker-operator-finalizer"
INITIAL = "SynchronizingK8sJobWithSageMaker"
RECONCILING = "ReconcilingTrainingJob"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
MIRRORED = frozenset({"InProgress", "Completed", "Failed", "Stopping", "Stopped"})


def cloudwatch_url(region: str, job: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logStream:group=/aws/sagemaker/TrainingJobs;prefix={job};streamFilter=typeLogStreamPrefix"
    )


def reconcile(ctx, cr: dict) -> None:
    """Advance one TrainingJob CR by one reconcile pass. `ctx` is the controller (see controller.py)."""
    meta, spec = cr["metadata"], cr.get("spec", {})
    status = cr.get("status") or {}
    deleting = bool(meta.get("deletionTimestamp"))
    if not status.get("trainingJobStatus") and not deleting:
        cr = _write_status(ctx, cr, {"trainingJobStatus": INITIAL})
    fault = ctx.faults.for_object("TrainingJob", meta)

    job = spec.get("trainingJobName") or generated_name(meta["name"], meta["uid"])
    if not spec.get("trainingJobName") and not deleting:
        cr["spec"]["trainingJobName"] = job
        cr = ctx.kube.replace(TRAINING_JOBS, cr)
    if not deleting and FINALIZER not in meta.get("finalizers", []):
        cr["metadata"].setdefault("finalizers", []).append(FINALIZER)
        cr = ctx.kube.replace(TRAINING_JOBS, cr)

    region = spec.get("region", ctx.default_region)
    if fault and fault.action == "reconcile-error":
        _reconciling(ctx, cr, job, f"Unable to describe SageMaker training job: {fault.reason}")
        return
    problem = ctx.credential_problem("sagemaker:DescribeTrainingJob")
    if problem:
        _reconciling(ctx, cr, job, f"Unable to describe SageMaker training job: {problem}")
        return
    sm = ctx.sagemaker(region)
    try:
        described = _describe(sm, job)
        if described is None:
            if deleting:
                ctx.kube.replace(TRAINING_JOBS, _without_finalizer(cr))
                return
            problem = ctx.credential_problem("sagemaker:CreateTrainingJob")
            if problem:
                _reconciling(ctx, cr, job, f"Unable to create training job: {problem}")
                return
            if fault:
                ctx.inject_sagemaker_fault(job, fault)
            sm.create_training_job(**training_request(spec, job))
            log.info("created SageMaker training job %s for %s/%s", job, meta["namespace"], meta["name"])
            described = _describe(sm, job)
        sm_status = described["TrainingJobStatus"]
        if sm_status == "InProgress" and deleting:
            sm.stop_training_job(TrainingJobName=job)
            described = _describe(sm, job)
            sm_status = described["TrainingJobStatus"]
    except (ClientError, BotoCoreError) as e:
        _reconciling(ctx, cr, job, f"Unable to reconcile training job: {e}")
        return

    new = {
        "trainingJobStatus": sm_status if sm_status in MIRRORED else RECONCILING,
        "secondaryStatus": "" if sm_status == "Stopping" else described.get("SecondaryStatus", ""),
        "additional": described.get("FailureReason", "")
        if sm_status in MIRRORED
        else f"Unknown Training Job Status: {sm_status}",
        "sageMakerTrainingJobName": job,
        "cloudWatchLogUrl": cloudwatch_url(region, job),
    }
    if sm_status == "Completed":
        new["modelPath"] = spec["outputDataConfig"]["s3OutputPath"] + job + "/output/model.tar.gz"
    if deleting and sm_status in TERMINAL:
        ctx.kube.replace(TRAINING_JOBS, _without_finalizer(cr))
        return
    _write_status(ctx, cr, new)


def _describe(sm, job: str) -> dict | None:
    try:
        return sm.describe_training_job(TrainingJobName=job)
    except ClientError as e:
        if "Could not find" in str(e) or e.response["Error"]["Code"] == "ResourceNotFound":
            return None
        raise


def _reconciling(ctx, cr: dict, job: str, message: str) -> None:
    _write_status(
        ctx,
        cr,
        {
            "trainingJobStatus": RECONCILING,
            "secondaryStatus": "",
            "additional": message,
            "sageMakerTrainingJobName": job,
        },
    )


def _without_finalizer(cr: dict) -> dict:
    cr["metadata"]["finalizers"] = [f for f in cr["metadata"].get("finalizers", []) if f != FINALIZER]
    return cr


def _write_status(ctx, cr: dict, fields: dict) -> dict:
    """Replace the whole status (the operator writes every field each time) when it changed."""
    status = {k: v for k, v in (cr.get("status") or {}).items() if k == "lastCheckTime"}
    status.update(fields)
    if status == (cr.get("status") or {}):
        return cr
    cr["status"] = status
    return ctx.kube.replace_status(TRAINING_JOBS, cr)
