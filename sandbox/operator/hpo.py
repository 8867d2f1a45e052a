"""HyperparameterTuningJob reconciler: the legacy operator's controllers/hyperparametertuningjob, one pass
per call.

1. empty status -> ``SynchronizingK8sJobWithSageMaker``;
2. SageMaker name = ``spec.hyperParameterTuningJobName``, or generated with the 32-character limit (which
   leaves only the CR's uid without dashes) and written back into the spec; add the finalizer (unless
   deleting);
3. DescribeHyperParameterTuningJob; missing -> deleting: drop the finalizer; else
   CreateHyperParameterTuningJob from the spec and describe again;
4. spawn the child TrainingJob CRs (hpo_children.py), whatever the status; copy ``BestTrainingJob`` into
   ``status.bestTrainingJob`` once SageMaker has one;
5. InProgress while deleting -> StopHyperParameterTuningJob (a 404 is fine) and describe again;
   Completed/Failed/Stopped while deleting -> delete the children, then drop the finalizer; Stopping -> wait;
   any other status -> ``ReconcilingTuningJob`` ``Unknown Tuning Job Status: X``;
6. status: ``hyperParameterTuningJobStatus``, ``additional`` (SageMaker's FailureReason),
   ``sageMakerHyperParameterTuningJobName``, ``trainingJobStatusCounters`` (with ``totalError`` = retryable
   + nonRetryable) and ``bestTrainingJob``. API errors -> ``ReconcilingTuningJob`` with the error in
   ``additional``.

``bestTrainingJob`` is what the operator's JSON round trip of SageMaker's summary leaves: times as RFC 3339
seconds, ``tunedHyperParameters`` as a name/value list (sorted by name here; Go's map order is random), and
``finalHyperParameterTuningJobObjectiveMetric`` **without** ``value``: SageMaker's value is a number and the
CRD's field a string, so Go's decoder drops it. Read the value from DescribeHyperParameterTuningJob or the
best job's FinalMetricDataList. Terminal CRs are not reconciled again until their spec changes.

Faults (faults.py) on the CR: ``fail:<reason>``, ``hang`` and ``stop`` act on every training job the tuning
job launches (SageMaker then ends the tuning job ``Failed``: no training job succeeded); ``reconcile-error``
fails DescribeHyperParameterTuningJob.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from . import hpo_children
from .common import INITIAL, Problem, aws_problem, is_not_found, rfc3339, with_finalizer, without_empty
from .common import without_finalizer as _without_finalizer
from .convert import to_api
from .kube import HYPERPARAMETER_TUNING_JOBS as RES
from .naming import generated_name

log = logging.getLogger(__name__)

RECONCILING = "ReconcilingTuningJob"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
KNOWN = TERMINAL | {"InProgress", "Stopping"}
NAME_LIMIT = 32
NOT_FOUND = "Amazon SageMaker can't find a tuning job"


class _Pass:
    def __init__(self, ctx, cr: dict) -> None:
        self.ctx, self.cr = ctx, cr
        self.name = ""
        self.described: dict | None = None

    @property
    def sm(self):
        return self.ctx.sagemaker((self.cr.get("spec") or {}).get("region") or self.ctx.default_region)

    def write(self, status: str, additional: str = "") -> None:
        old = self.cr.get("status") or {}
        new = {**old, "hyperParameterTuningJobStatus": status, "trainingJobStatusCounters": self.counters()}
        new["additional"], new["sageMakerHyperParameterTuningJobName"] = additional, self.name
        best = (self.described or {}).get("BestTrainingJob")
        if best:
            new["bestTrainingJob"] = best_training_job(best)
        new = {k: v for k, v in new.items() if v != "" and v is not None}
        if new != old:
            self.cr["status"] = new
            self.cr = self.ctx.kube.replace_status(RES, self.cr)

    def counters(self) -> dict:
        c = (self.described or {}).get("TrainingJobStatusCounters")
        if not c:
            return {}
        out = {
            "completed": c.get("Completed"),
            "inProgress": c.get("InProgress"),
            "nonRetryableError": c.get("NonRetryableError"),
            "retryableError": c.get("RetryableError"),
            "stopped": c.get("Stopped"),
        }
        if out["nonRetryableError"] is not None and out["retryableError"] is not None:
            out["totalError"] = out["nonRetryableError"] + out["retryableError"]
        return {k: v for k, v in out.items() if v is not None}


def best_training_job(summary: dict) -> dict:
    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    tuned = summary.get("TunedHyperParameters") or {}
    return without_empty(
        {
            "trainingJobName": summary.get("TrainingJobName"),
            "trainingJobArn": summary.get("TrainingJobArn"),
            "trainingJobStatus": summary.get("TrainingJobStatus"),
            "tuningJobName": summary.get("TuningJobName"),
            "creationTime": rfc3339(summary.get("CreationTime")),
            "trainingStartTime": rfc3339(summary.get("TrainingStartTime")),
            "trainingEndTime": rfc3339(summary.get("TrainingEndTime")),
            "failureReason": summary.get("FailureReason"),
            "objectiveStatus": summary.get("ObjectiveStatus"),
            # "value" is a number in SageMaker's answer and a string in the CRD: Go's decoder drops it
            "finalHyperParameterTuningJobObjectiveMetric": without_empty(
                {"metricName": metric.get("MetricName"), "type": metric.get("Type")}
            ),
            "tunedHyperParameters": [{"name": k, "value": v} for k, v in sorted(tuned.items())],
        }
    )


def reconcile(ctx, cr: dict) -> bool:
    """One pass; True when the CR is settled (terminal: the real controller does not requeue it)."""
    p = _Pass(ctx, cr)
    if not (cr.get("status") or {}).get("hyperParameterTuningJobStatus"):
        p.write(INITIAL)
    meta, spec = p.cr["metadata"], p.cr.setdefault("spec", {})
    deleting = bool(meta.get("deletionTimestamp"))
    p.name = spec.get("hyperParameterTuningJobName") or generated_name(meta["name"], meta["uid"], NAME_LIMIT)
    if not spec.get("hyperParameterTuningJobName"):
        spec["hyperParameterTuningJobName"] = p.name
        p.cr = ctx.kube.replace(RES, p.cr)
    p.cr = with_finalizer(ctx, RES, p.cr)
    try:
        status = _reconcile(p, deleting)
    except Problem as e:
        p.write(RECONCILING, str(e))
        return False
    return status in TERMINAL and not deleting


def _reconcile(p: _Pass, deleting: bool) -> str | None:
    p.described = _describe(p)
    if p.described is None:
        if deleting:
            p.ctx.kube.replace(RES, _without_finalizer(p.cr))
            return None
        _create(p)
        p.described = _describe(p)
        if p.described is None:
            raise Problem("Unable to describe SageMaker hyperparameter tuning job: created but not found")
    hpo_children.spawn_missing(p.ctx, p.cr, p.sm, p.name)
    status = p.described["HyperParameterTuningJobStatus"]
    if status == "InProgress" and deleting:
        try:
            p.sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=p.name)
        except ClientError as e:
            if not is_not_found(e, NOT_FOUND):
                raise aws_problem(e, "Unable to delete hyperparameter tuning job") from e
        except BotoCoreError as e:
            raise aws_problem(e, "Unable to delete hyperparameter tuning job") from e
        p.described = _describe(p) or p.described
    elif status in TERMINAL and deleting:
        errors = hpo_children.delete_spawned(p.ctx, p.cr, p.sm, p.name)
        if errors:
            raise Problem(
                "Not all associated TrainingJobs jobs were deleted: Error(s) occurred while deleting spawned "
                f"training jobs: {errors}"
            )
        p.ctx.kube.replace(RES, _without_finalizer(p.cr))
        return status
    elif status not in KNOWN:
        raise Problem(f"Unknown Tuning Job Status: {status}")
    status = p.described["HyperParameterTuningJobStatus"]
    p.write(status, p.described.get("FailureReason") or "")
    return status


def _describe(p: _Pass) -> dict | None:
    message = "Unable to describe SageMaker hyperparameter tuning job"
    fault = p.ctx.faults.for_object("HyperparameterTuningJob", p.cr["metadata"])
    if fault is not None and fault.action == "reconcile-error":
        raise Problem(f"{message}: {fault.reason}")
    problem = p.ctx.credential_problem("sagemaker:DescribeHyperParameterTuningJob")
    if problem:
        raise Problem(f"{message}: {problem}")
    try:
        return p.sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=p.name)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ResourceNotFound" and is_not_found(e, NOT_FOUND):
            return None
        raise aws_problem(e, message) from e
    except BotoCoreError as e:
        raise aws_problem(e, message) from e


def _create(p: _Pass) -> None:
    message = "Unable to create hyperparameter tuning job"
    problem = p.ctx.credential_problem("sagemaker:CreateHyperParameterTuningJob")
    if problem:
        raise Problem(f"{message}: Unable to create HyperParameter Tuning Job: {problem}")
    spec = p.cr.get("spec") or {}
    fault = p.ctx.faults.for_object("HyperparameterTuningJob", p.cr["metadata"])
    if fault is not None and fault.action in ("fail", "hang", "stop"):
        p.ctx.inject_sagemaker_fault(f"{p.name}-*", fault)  # every training job it launches
    request = to_api({k: v for k, v in spec.items() if k != "hyperParameterTuningJobName"})
    request["HyperParameterTuningJobName"] = p.name
    try:
        p.sm.create_hyper_parameter_tuning_job(**request)
    except (ClientError, BotoCoreError) as e:
        raise aws_problem(e, f"{message}: Unable to create HyperParameter Tuning Job") from e
    meta = p.cr["metadata"]
    log.info("created tuning job %s for %s/%s", p.name, meta["namespace"], meta["name"])
