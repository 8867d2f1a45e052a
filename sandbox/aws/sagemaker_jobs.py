"""SageMaker's tuning and batch transform APIs, patched into moto by sagemaker_sim.install().

moto answers CreateHyperParameterTuningJob with an instantly ``Completed`` job whose best training job is
fake, CreateTransformJob with an instantly ``Completed`` job that wrote nothing, and has no
ListTrainingJobsForHyperParameterTuningJob, StopHyperParameterTuningJob or StopTransformJob. Here:

* CreateHyperParameterTuningJob validates the request (name of 1..32 characters, resource limits, objective,
  ranges, strategy ``Bayesian``/``Random``, a single ``TrainingJobDefinition``), then ``InProgress`` and a
  tuning worker (tuning.py); a duplicate name -> ResourceInUse.
* DescribeHyperParameterTuningJob / StopHyperParameterTuningJob on a missing job -> ResourceNotFound
  ``Amazon SageMaker can't find a tuning job with name X`` (the text the operator's 404 test expects);
  the description omits what is not set yet (BestTrainingJob, FailureReason, HyperParameterTuningEndTime).
* ListTrainingJobsForHyperParameterTuningJob: the children as HyperParameterTrainingJobSummary, with
  ``StatusEquals``, ``SortBy`` (Name (default), CreationTime, Status, FinalObjectiveMetricValue, which
  lists only jobs with a value), ``SortOrder`` (Ascending default) and ``MaxResults`` (default 10) /
  ``NextToken`` pages.
* CreateTransformJob: name pattern, the model must exist (ValidationException
  ``Could not find model "<arn>".``), only ``S3Prefix`` input, ``SplitType`` None/Line, ``AssembleWith``
  None/Line; then ``InProgress`` and a transform worker (transform.py); a duplicate name -> ResourceInUse.
  StopTransformJob -> ``Stopping``.
"""

from __future__ import annotations

import re

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import FakeTransformJob, HyperParameterTuningJob

from . import transform, tuning
from .tuning_search import InvalidRanges, Search, parse_ranges

TUNING_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SORT_KEYS = {
    "Name": lambda s: s["TrainingJobName"],
    "CreationTime": lambda s: s["CreationTime"],
    "Status": lambda s: s["TrainingJobStatus"],
    "FinalObjectiveMetricValue": lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
}


def _sim():
    from . import sagemaker_sim

    return sagemaker_sim._sim()


def _check(pattern: re.Pattern, field: str, name: str) -> None:
    if not name or not pattern.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern.pattern[:-1]}"
        )


def _tuning_or_404(backend, name: str):
    job = backend.hyper_parameter_tuning_jobs.get(name)
    if job is None:
        raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
    return job


def _validate_tuning(name: str, config: dict, definition, definitions) -> None:
    _check(TUNING_NAME, "hyperParameterTuningJobName", name)
    if definitions or not definition:
        raise ValidationError(
            "The SageMaker simulator supports exactly one TrainingJobDefinition (TrainingJobDefinitions is "
            "not supported)"
        )
    limits = config.get("ResourceLimits") or {}
    for key in ("MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs"):
        if int(limits.get(key) or 0) < 1:
            raise ValidationError(f"ResourceLimits.{key} must be at least 1")
    objective = config.get("HyperParameterTuningJobObjective") or {}
    if not objective.get("MetricName") or objective.get("Type") not in ("Minimize", "Maximize"):
        raise ValidationError(
            "A HyperParameterTuningJobObjective with a MetricName and a Type of Minimize or Maximize is "
            "required for this hyperparameter tuning job"
        )
    try:
        Search(name, config.get("Strategy", ""), parse_ranges(config.get("ParameterRanges")), True, 1)
    except InvalidRanges as e:
        raise ValidationError(str(e)) from None


# -- backend patches (self is a moto SageMakerModelBackend) ----------------------------------------------
def _create_tuning(
    self, hyper_parameter_tuning_job_name: str, hyper_parameter_tuning_job_config, **kwargs
) -> str:
    name, config = hyper_parameter_tuning_job_name, hyper_parameter_tuning_job_config or {}
    _validate_tuning(
        name, config, kwargs.get("training_job_definition"), kwargs.get("training_job_definitions")
    )
    sim = _sim()
    with sim.lock:
        job = HyperParameterTuningJob(  # raises ResourceInUse for a duplicate name
            hyper_parameter_tuning_job_name=name,
            hyper_parameter_tuning_job_config=config,
            region_name=self.region_name,
            account_id=self.account_id,
            **kwargs,
        )
        job.hyper_parameter_tuning_job_status = "InProgress"
        job.training_job_status_counters, job.objective_status_counters = tuning.counters(job, [])
        job.best_training_job = job.OverallBestTrainingJob = None
        job.hyper_parameter_tuning_end_time = job.failure_reason = None
        job.tuning_job_completion_details = job.consumed_resources = None
        job.sim_children = []  # the training jobs it launched, in order (never shown by moto)
        self.hyper_parameter_tuning_jobs[name] = job
        sim.start_worker("tuning", self, name, lambda run: tuning.TuningWorker(sim, run, self, job))
    return job.arn


def _describe_tuning(self, hyper_parameter_tuning_job_name: str) -> dict:
    job = _tuning_or_404(self, hyper_parameter_tuning_job_name)
    with _sim().lock:
        return {k: v for k, v in job.describe().items() if v not in (None, "", [], {})}


def _stop_tuning(self, hyper_parameter_tuning_job_name: str) -> None:
    sim = _sim()
    with sim.lock:
        job = _tuning_or_404(self, hyper_parameter_tuning_job_name)
        if job.hyper_parameter_tuning_job_status != "InProgress":
            raise ValidationError(
                f"The request was rejected because the tuning job is in status "
                f"{job.hyper_parameter_tuning_job_status}."
            )
        job.hyper_parameter_tuning_job_status = "Stopping"
        job.last_modified_time = utcnow()
        run = sim.runs.get(("tuning", self.account_id, self.region_name, hyper_parameter_tuning_job_name))
        if run is not None and run.alive():
            run.request_stop()
        else:  # no worker (reset or shut down): nothing left to stop
            job.hyper_parameter_tuning_job_status = "Stopped"


def _list_for_tuning(self, name: str, next_token, max_results, sort_by, sort_order, status_equals) -> dict:
    with _sim().lock:
        job = _tuning_or_404(self, name)
        summaries = [tuning.summary(job, child) for child in tuning.children(self, job)]
    if status_equals:
        summaries = [s for s in summaries if s["TrainingJobStatus"] == status_equals]
    sort_by = sort_by or "Name"
    if sort_by not in SORT_KEYS:
        raise ValidationError(f"Value '{sort_by}' at 'sortBy' failed to satisfy constraint")
    if sort_by == "FinalObjectiveMetricValue":
        summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    summaries.sort(key=SORT_KEYS[sort_by], reverse=sort_order == "Descending")
    start, size = int(next_token or 0), int(max_results or 10)
    page = {"TrainingJobSummaries": summaries[start : start + size]}
    if start + size < len(summaries):
        page["NextToken"] = str(start + size)
    return page


def _create_transform(self, transform_job_name: str, model_name: str, **kwargs) -> FakeTransformJob:
    _check(JOB_NAME, "transformJobName", transform_job_name)
    source = kwargs.get("transform_input") or {}
    for field, value, allowed in (
        (
            "S3DataType",
            ((source.get("DataSource") or {}).get("S3DataSource") or {}).get("S3DataType"),
            ("S3Prefix",),
        ),
        ("SplitType", source.get("SplitType") or "None", ("None", "Line")),
        (
            "AssembleWith",
            (kwargs.get("transform_output") or {}).get("AssembleWith") or "None",
            ("None", "Line"),
        ),
        ("BatchStrategy", kwargs.get("batch_strategy") or "MultiRecord", ("MultiRecord", "SingleRecord")),
    ):
        if value not in allowed:
            raise ValidationError(f"{field} {value} is not supported by the SageMaker simulator ({allowed})")
    sim = _sim()
    with sim.lock:
        existing = self.transform_jobs.get(transform_job_name)
        if existing is not None:
            raise ResourceInUseException(
                "Job name must be unique within an AWS account and region, and a job with this name already "
                f"exists ({existing.arn})"
            )
        if model_name not in self._models:
            arn = sm_models.arn_formatter("model", model_name, self.account_id, self.region_name)
            raise ValidationError(f'Could not find model "{arn}".')
        job = FakeTransformJob(
            account_id=self.account_id,
            region_name=self.region_name,
            transform_job_name=transform_job_name,
            model_name=model_name,
            **kwargs,
        )
        job.transform_job_status = "InProgress"
        job.failure_reason = job.labeling_job_arn = job.auto_ml_job_arn = None
        job.transform_start_time = job.transform_end_time = None
        self.transform_jobs[transform_job_name] = job
        sim.start_worker(
            "transform", self, transform_job_name, lambda run: transform.TransformWorker(sim, run, self, job)
        )
    return job


def _stop_transform(self, transform_job_name: str) -> None:
    sim = _sim()
    with sim.lock:
        job = self.transform_jobs.get(transform_job_name)
        if job is None:
            arn = FakeTransformJob.arn_formatter(transform_job_name, self.account_id, self.region_name)
            raise ValidationError(f"Could not find transform job '{arn}'.")
        if job.transform_job_status != "InProgress":
            raise ValidationError(
                f"The request was rejected because the transform job is in status {job.transform_job_status}."
            )
        transform.request_stop(
            sim, job, sim.runs.get(("transform", self.account_id, self.region_name, transform_job_name))
        )


def _list_transforms(self, *args, **kwargs):
    result = _ORIGINAL["list_transform_jobs"](self, *args, **kwargs)
    for summary in result.get("TransformJobSummaries", []):
        for key in [k for k, v in summary.items() if v is None]:
            del summary[key]
    return result


# -- response patches ------------------------------------------------------------------------------------
def _response_stop_tuning(self) -> EmptyResult:
    self.sagemaker_backend.stop_hyper_parameter_tuning_job(self._get_param("HyperParameterTuningJobName"))
    return EmptyResult()


def _response_list_for_tuning(self) -> ActionResult:
    return ActionResult(
        self.sagemaker_backend.list_training_jobs_for_hyper_parameter_tuning_job(
            self._get_param("HyperParameterTuningJobName"),
            next_token=self._get_param("NextToken"),
            max_results=self._get_param("MaxResults"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            status_equals=self._get_param("StatusEquals"),
        )
    )


def _response_stop_transform(self) -> EmptyResult:
    self.sagemaker_backend.stop_transform_job(self._get_param("TransformJobName"))
    return EmptyResult()


_ORIGINAL: dict[str, object] = {}


def patch(set_attr) -> None:
    """Install through sagemaker_sim's ``_set`` (which remembers what to restore on uninstall)."""
    backend = sm_models.SageMakerModelBackend
    _ORIGINAL.setdefault("list_transform_jobs", backend.list_transform_jobs)
    set_attr(backend, "create_hyper_parameter_tuning_job", _create_tuning)
    set_attr(backend, "describe_hyper_parameter_tuning_job", _describe_tuning)
    set_attr(backend, "stop_hyper_parameter_tuning_job", _stop_tuning)
    set_attr(backend, "list_training_jobs_for_hyper_parameter_tuning_job", _list_for_tuning)
    set_attr(backend, "create_transform_job", _create_transform)
    set_attr(backend, "stop_transform_job", _stop_transform)
    set_attr(backend, "list_transform_jobs", _list_transforms)
    response = sm_responses.SageMakerResponse
    set_attr(response, "stop_hyper_parameter_tuning_job", _response_stop_tuning)
    set_attr(response, "list_training_jobs_for_hyper_parameter_tuning_job", _response_list_for_tuning)
    set_attr(response, "stop_transform_job", _response_stop_transform)
