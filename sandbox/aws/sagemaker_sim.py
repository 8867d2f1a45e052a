"""SageMaker that really trains and serves, patched into moto in-process.

``install()`` patches moto's SageMaker backend/response classes and the sagemaker-runtime response class
(process-wide, idempotent), so every caller of the SageMaker API over HTTP (boto3, Airflow hooks, the
operator emulator) and in-process ``mock_aws`` users get:

* CreateTrainingJob -> ``InProgress``/``Starting`` and a background worker that walks
  Starting -> Downloading -> Training (xgboost) -> Uploading (real ``model.tar.gz``) -> Completed,
  or Failed / Stopped (StopTrainingJob, ``MaxRuntimeInSeconds`` -> ``MaxRuntimeExceeded``);
  a duplicate name -> ResourceInUse.
* StopTrainingJob (moto has none), ListTrainingJobs summaries with SecondaryStatus.
* CreateEndpoint -> ``Creating`` -> a worker loads the first production variant's model -> ``InService``
  (or ``Failed`` + FailureReason); UpdateEndpoint (moto has none) -> ``Updating`` (the old model keeps
  serving) -> ``InService`` on the new config and model, or rolled back to the old one with FailureReason
  (faults ``endpoint_fail``, ``update_fail``); DeleteEndpoint unloads the model.
* sagemaker-runtime InvokeEndpoint -> real predictions from the loaded booster.
* Hyperparameter tuning (tuning.py) and batch transform (transform.py) jobs that really train and predict;
  their APIs are patched in by sagemaker_jobs.py.

At most ``max_concurrent_jobs`` (2) jobs download/train/upload at a time; the others wait in ``Starting``.
The simulator's own state is only the workers and loaded predictors; statuses live on moto's objects.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from urllib.parse import unquote

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, FakeTrainingJob, sagemaker_backends
from moto.sagemakerruntime import responses as rt_responses

from . import hosting, sagemaker_jobs, training
from .faults import FaultRegistry
from .runs import Run

log = logging.getLogger(__name__)

DEFAULT_PHASE_DELAY = 0.2
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class SageMakerSimulator:
    """Process-wide handle: faults, timing, workers. Get it with :func:`get_simulator`."""

    def __init__(self, phase_delay: float = DEFAULT_PHASE_DELAY, max_concurrent_jobs: int = 2) -> None:
        self.faults = FaultRegistry()
        self.phase_delay = phase_delay
        self.max_concurrent_jobs = max_concurrent_jobs
        self.slots = threading.BoundedSemaphore(max_concurrent_jobs)
        self.lock = threading.RLock()
        self.runs: dict[tuple[str, str, str, str], Run] = {}
        self.predictors: dict[tuple[str, str, str], hosting.Predictor] = {}

    # -- public ----------------------------------------------------------------------------------
    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no worker runs (hanging jobs never finish). True if idle."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.lock:
                threads = [r.thread for r in self.runs.values() if r.alive()]
            if not threads:
                return True
            for thread in threads:
                remaining = None if end is None else max(0.0, end - time.monotonic())
                thread.join(remaining)
                if end is not None and time.monotonic() >= end:
                    with self.lock:
                        return not any(r.alive() for r in self.runs.values())

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every worker and join its thread. Jobs/endpoints still in progress end Failed
        (InternalServerError). The simulator stays usable: new jobs start new workers."""
        self._cancel_where(lambda run: True, "shutdown")
        self.wait_idle(timeout)
        with self.lock:
            self.runs = {k: r for k, r in self.runs.items() if r.alive()}

    def reset(self) -> None:
        """shutdown() + forget faults, loaded models and phase-delay overrides."""
        self.shutdown()
        with self.lock:
            self.predictors.clear()
        self.faults.clear()

    def running(self) -> list[str]:
        with self.lock:
            return sorted(f"{r.kind}:{r.name}" for r in self.runs.values() if r.alive())

    # -- workers ---------------------------------------------------------------------------------
    def _spawn(self, run: Run, target) -> None:
        with self.lock:
            old = self.runs.get(run.key)
            if old is not None and old.alive():
                old.cancel("replaced")
            self.runs[run.key] = run
            run.thread = threading.Thread(
                target=self._wrap(run, target), name=f"sagemaker-sim-{run.kind}-{run.name}"
            )
            run.thread.daemon = True
            run.thread.start()

    def _wrap(self, run: Run, target):
        def body() -> None:
            try:
                target()
            finally:
                with self.lock:
                    if self.runs.get(run.key) is run:
                        del self.runs[run.key]

        return body

    def _cancel_where(self, predicate, reason: str) -> None:
        with self.lock:
            for run in self.runs.values():
                if predicate(run):
                    run.cancel(reason)

    def start_worker(self, kind: str, backend, name: str, make_worker) -> Run:
        """Run ``make_worker(run)`` (a callable) in a worker thread keyed by (kind, account, region, name)."""
        run = Run(kind, backend.account_id, backend.region_name, name)
        self._spawn(run, make_worker(run))
        return run

    def start_training(self, backend, job) -> None:
        run = Run("training", backend.account_id, backend.region_name, job.training_job_name)
        self._spawn(run, training.TrainingWorker(self, run, job, backend.account_id, backend.region_name))

    def stop_job(self, job, run: Run | None) -> None:
        """Stopping + signal the worker (used by StopTrainingJob and the ``stop`` fault)."""
        with self.lock:
            if job.training_job_status != "InProgress":
                return
            training.transition(job, "Stopping", "Stopping")
            if run is not None and run.alive() and not run.cancelled:
                run.request_stop()
            else:  # no worker (a job from before install(), or orphaned): stop at once
                training.transition(job, "Stopped", "Stopped")

    def start_endpoint(self, backend, endpoint, config_name: str, update: bool) -> None:
        run = Run("endpoint", backend.account_id, backend.region_name, endpoint.endpoint_name)
        self._spawn(run, hosting.EndpointWorker(self, run, backend, endpoint, config_name, update))

    def forget_endpoint(self, account: str, region: str, name: str) -> None:
        with self.lock:
            run = self.runs.get(("endpoint", account, region, name))
            if run is not None:
                run.cancel("deleted")
            self.predictors.pop((account, region, name), None)

    def backend_reset(self, account: str, region: str) -> None:
        with self.lock:
            self._cancel_where(lambda r: (r.account, r.region) == (account, region), "reset")
            for key in [k for k in self.predictors if k[:2] == (account, region)]:
                del self.predictors[key]


_SIM: SageMakerSimulator | None = None
_SIM_LOCK = threading.Lock()
_SAVED: dict[tuple[type, str], object] = {}  # class __dict__ entries to restore on uninstall()
_IMPL: dict[tuple[type, str], object] = {}  # the original implementations the patches delegate to


def get_simulator() -> SageMakerSimulator:
    """The process-wide simulator; installs the moto patches on first use."""
    return install()


def install(phase_delay: float | None = None) -> SageMakerSimulator:
    """Patch moto (idempotent, process-wide) and return the simulator. ``phase_delay`` updates it."""
    global _SIM
    with _SIM_LOCK:
        if _SIM is None:
            _SIM = SageMakerSimulator()
            _patch()
        if phase_delay is not None:
            _SIM.phase_delay = phase_delay
        return _SIM


def uninstall() -> None:
    """Shut the simulator down and restore moto's original methods."""
    global _SIM
    with _SIM_LOCK:
        if _SIM is not None:
            _SIM.reset()
        for (cls, attr), original in _SAVED.items():
            if original is None:
                delattr(cls, attr)
            else:
                setattr(cls, attr, original)
        _SAVED.clear()
        _IMPL.clear()
        _SIM = None


def _set(cls: type, attr: str, value) -> None:
    _SAVED.setdefault((cls, attr), cls.__dict__.get(attr))
    if hasattr(cls, attr):
        _IMPL.setdefault((cls, attr), getattr(cls, attr))
    setattr(cls, attr, value)


def _sim() -> SageMakerSimulator:
    assert _SIM is not None
    return _SIM


def _check_name(field: str, name: str) -> None:
    if not name or not NAME_PATTERN.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )


# -- backend patches (self is a moto SageMakerModelBackend) -------------------------------------------
def _create_training_job(self, training_job_name: str, **kwargs) -> FakeTrainingJob:
    _check_name("trainingJobName", training_job_name)
    sim = _sim()
    with sim.lock:
        existing = self.training_jobs.get(training_job_name)
        if existing is not None:
            raise ResourceInUseException(
                "Training job names must be unique within an AWS account and region, and a training job with "
                f"this name already exists ({existing.arn})"
            )
        spec = dict(kwargs.get("algorithm_specification") or {})
        user_metrics = spec.get("MetricDefinitions")
        kwargs["algorithm_specification"] = spec
        kwargs["hyper_parameters"] = kwargs.get("hyper_parameters") or {}
        tuning_job_arn = kwargs.pop("tuning_job_arn", None)  # launched by a tuning job (tuning.py)
        job = FakeTrainingJob(
            account_id=self.account_id,
            region_name=self.region_name,
            training_job_name=training_job_name,
            **kwargs,
        )
        if user_metrics:
            spec["MetricDefinitions"] = user_metrics
        else:  # moto injects a fake test:dcg definition; the built-in algorithm has its own
            spec.pop("MetricDefinitions", None)
        training.initial_state(job)
        if tuning_job_arn:
            job.tuning_job_arn = (
                tuning_job_arn  # DescribeTrainingJob's TuningJobArn; set before it is visible
            )
        self.training_jobs[training_job_name] = job
        sim.start_training(self, job)
    return job


def _stop_training_job(self, training_job_name: str) -> None:
    sim = _sim()
    with sim.lock:
        job = self.training_jobs.get(training_job_name)
        if job is None:
            raise ValidationError("Requested resource not found.")
        if job.training_job_status != "InProgress":
            raise ValidationError(
                f"The request was rejected because the training job is in status {job.training_job_status}."
            )
        sim.stop_job(job, sim.runs.get(("training", self.account_id, self.region_name, training_job_name)))


def _list_training_jobs(self, *args, **kwargs):
    result = _IMPL[(sm_models.SageMakerModelBackend, "list_training_jobs")](self, *args, **kwargs)
    for summary in result.get("TrainingJobSummaries", []):
        job = self.training_jobs.get(summary["TrainingJobName"])
        if job is not None:
            summary["SecondaryStatus"] = job.secondary_status
        if summary.get("TrainingEndTime") is None:
            summary.pop("TrainingEndTime", None)
    return result


def _create_endpoint(self, endpoint_name: str, endpoint_config_name: str, tags) -> FakeEndpoint:
    _check_name("endpointName", endpoint_name)
    sim = _sim()
    with sim.lock:
        if endpoint_name in self.endpoints:
            raise ValidationError(
                f'Cannot create already existing endpoint "{self.endpoints[endpoint_name].arn}".'
            )
        config = self.endpoint_configs.get(endpoint_config_name)
        if config is None:
            arn = FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
            raise ValidationError(f"Could not find endpoint configuration '{arn}'.")
        endpoint = FakeEndpoint(
            account_id=self.account_id,
            region_name=self.region_name,
            endpoint_name=endpoint_name,
            endpoint_config_name=endpoint_config_name,
            production_variants=config.production_variants,
            data_capture_config=config.data_capture_config,
            tags=tags,
        )
        endpoint.endpoint_status = "Creating"
        self.endpoints[endpoint_name] = endpoint
        sim.start_endpoint(self, endpoint, endpoint_config_name, update=False)
    return endpoint


def _update_endpoint(self, endpoint_name: str, endpoint_config_name: str) -> FakeEndpoint:
    sim = _sim()
    with sim.lock:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(f"Could not find endpoint '{arn}'.")
        if endpoint.endpoint_status != "InService":
            raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        if endpoint_config_name not in self.endpoint_configs:
            arn = FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
            raise ValidationError(f"Could not find endpoint configuration '{arn}'.")
        endpoint.endpoint_status = "Updating"
        endpoint.last_modified_time = utcnow()
        sim.start_endpoint(self, endpoint, endpoint_config_name, update=True)
    return endpoint


def _delete_endpoint(self, endpoint_name: str) -> None:
    sim = _sim()
    with sim.lock:
        _IMPL[(sm_models.SageMakerModelBackend, "delete_endpoint")](self, endpoint_name)
        sim.forget_endpoint(self.account_id, self.region_name, endpoint_name)


def _backend_reset(self) -> None:
    if _SIM is not None:
        _SIM.backend_reset(self.account_id, self.region_name)
    _IMPL[(sm_models.SageMakerModelBackend, "reset")](self)


# -- response patches --------------------------------------------------------------------------------
def _response_stop_training_job(self) -> EmptyResult:
    self.sagemaker_backend.stop_training_job(self._get_param("TrainingJobName"))
    return EmptyResult()


def _response_update_endpoint(self) -> ActionResult:
    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def _runtime_invoke_endpoint(self):
    name = (
        unquote(self.path.split("/endpoints/", 1)[1].split("/", 1)[0]) if "/endpoints/" in self.path else ""
    )
    body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.raw_body or "").encode()
    backend = sagemaker_backends[self.current_account][self.region]
    out, content_type, variant = hosting.invoke(
        _sim(),
        backend,
        self.current_account,
        self.region,
        name,
        body,
        self.headers.get("Content-Type"),
        self.headers.get("Accept"),
    )
    return 200, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant}, out


def _patch() -> None:
    backend_cls = sm_models.SageMakerModelBackend
    _set(backend_cls, "create_training_job", _create_training_job)
    _set(backend_cls, "stop_training_job", _stop_training_job)
    _set(backend_cls, "list_training_jobs", _list_training_jobs)
    _set(backend_cls, "create_endpoint", _create_endpoint)
    _set(backend_cls, "update_endpoint", _update_endpoint)
    _set(backend_cls, "delete_endpoint", _delete_endpoint)
    _set(backend_cls, "reset", _backend_reset)
    response_cls = sm_responses.SageMakerResponse
    _set(response_cls, "stop_training_job", _response_stop_training_job)
    _set(response_cls, "update_endpoint", _response_update_endpoint)
    _set(rt_responses.SageMakerRuntimeResponse, "invoke_endpoint", _runtime_invoke_endpoint)
    sagemaker_jobs.patch(_set)
    log.debug("SageMaker simulator patches installed")
