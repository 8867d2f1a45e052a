"""Hyperparameter tuning jobs that really train: the tuning worker and the tuning job's view of its children.

The worker launches the tuning job's training jobs through the simulator's own CreateTrainingJob (so each
one trains XGBoost on the channels' data like any other job, and the training faults apply to them), at most
``MaxParallelTrainingJobs`` at a time and ``MaxNumberOfTrainingJobs`` in all, with the hyperparameters the
strategy proposes (tuning_search.py) on top of ``StaticHyperParameters`` and SageMaker's
``_tuning_objective_metric``. Children are named ``<tuning job>-<3-digit index>-<8 hex>``, as SageMaker names
them. After every change it writes the counters and the best job (by the objective metric in the children's
``FinalMetricDataList``) onto moto's tuning job object, so DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob are the only truth.

Ends ``Completed`` once every job ran and at least one reported the objective; ``Failed`` with
``No training job succeeded after N attempts. ...`` once ``min(5, MaxNumberOfTrainingJobs)`` jobs ended
without an objective value and none had one (the jobs still running are waited for; no new ones start);
StopHyperParameterTuningJob -> ``Stopping`` (every running child is stopped) -> ``Stopped``.
Not simulated: early stopping (``TrainingJobEarlyStoppingType`` is accepted and ignored), warm start,
``ResourceLimits.MaxRuntimeInSeconds``, retries of failed jobs.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING

from moto.core.utils import utcnow

from .runs import Cancelled, Run
from .tuning_search import Search, parse_ranges

if TYPE_CHECKING:
    from .sagemaker_sim import SageMakerSimulator

log = logging.getLogger(__name__)

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
GIVE_UP_AFTER = 5  # failed attempts without any success before SageMaker gives up
POLL = 0.05


def child_name(tuning, index: int) -> str:
    digest = hashlib.sha256(f"{tuning.arn}|{tuning.creation_time.isoformat()}|{index}".encode())
    return f"{tuning.hyper_parameter_tuning_job_name}-{index:03d}-{digest.hexdigest()[:8]}"


def objective(tuning) -> tuple[str, str]:
    spec = tuning.hyper_parameter_tuning_job_config.get("HyperParameterTuningJobObjective") or {}
    return spec.get("MetricName", ""), spec.get("Type", "Minimize")


def objective_value(tuning, job) -> float | None:
    if job.training_job_status != "Completed":
        return None
    name = objective(tuning)[0]
    for metric in job.final_metric_data_list or []:
        if metric.get("MetricName") == name:
            return float(metric["Value"])
    return None


def tuned_names(tuning) -> list[str]:
    ranges = tuning.hyper_parameter_tuning_job_config.get("ParameterRanges") or {}
    return [r["Name"] for kind in ranges.values() for r in kind or []]


def children(backend, tuning) -> list:
    return [backend.training_jobs[n] for n in tuning.sim_children if n in backend.training_jobs]


def summary(tuning, job) -> dict:
    """A HyperParameterTrainingJobSummary."""
    value = objective_value(tuning, job)
    name, kind = objective(tuning)
    out = {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "TuningJobName": tuning.hyper_parameter_tuning_job_name,
        "CreationTime": job.creation_time,
        "TrainingStartTime": job.training_start_time,
        "TrainingEndTime": job.training_end_time,
        "TrainingJobStatus": job.training_job_status,
        "TunedHyperParameters": {k: job.hyper_parameters[k] for k in tuned_names(tuning)},
        "FailureReason": job.failure_reason,
        "ObjectiveStatus": _objective_status(job, value),
    }
    if value is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": kind,
            "MetricName": name,
            "Value": value,
        }
    return {k: v for k, v in out.items() if v is not None}


def _objective_status(job, value: float | None) -> str:
    if job.training_job_status == "InProgress" or job.training_job_status == "Stopping":
        return "Pending"
    return "Succeeded" if value is not None else "Failed"


def best_summary(tuning, jobs: list) -> dict | None:
    scored = [(objective_value(tuning, j), j) for j in jobs]
    scored = [(v, j) for v, j in scored if v is not None]
    if not scored:
        return None
    minimize = objective(tuning)[1] != "Maximize"
    _, job = min(scored, key=lambda item: item[0] if minimize else -item[0])
    return summary(tuning, job)


def counters(tuning, jobs: list) -> tuple[dict, dict]:
    training = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for job in jobs:
        status = job.training_job_status
        if status == "Failed":
            internal = (job.failure_reason or "").startswith("InternalServerError")
            training["RetryableError" if internal else "NonRetryableError"] += 1
        elif status == "Stopping":
            training["InProgress"] += 1
        else:
            training[status] += 1
        objectives[_objective_status(job, objective_value(tuning, job))] += 1
    return training, objectives


def refresh(backend, tuning) -> list:
    """Write the counters and the best job onto the tuning job (caller holds the simulator lock)."""
    jobs = children(backend, tuning)
    training, objectives = counters(tuning, jobs)
    best = best_summary(tuning, jobs)
    if (training, objectives, best) != (
        tuning.training_job_status_counters,
        tuning.objective_status_counters,
        tuning.best_training_job,
    ):
        tuning.training_job_status_counters = training
        tuning.objective_status_counters = objectives
        tuning.best_training_job = best
        tuning.last_modified_time = utcnow()
    return jobs


def child_request(tuning, tuned: dict[str, str]) -> dict:
    """CreateTrainingJob keyword arguments (the simulator's backend call) for one child."""
    definition = tuning.training_job_definition or {}
    static = dict(definition.get("StaticHyperParameters") or {})
    return {
        "hyper_parameters": {**static, **tuned, "_tuning_objective_metric": objective(tuning)[0]},
        "algorithm_specification": dict(definition.get("AlgorithmSpecification") or {}),
        "role_arn": definition.get("RoleArn"),
        "input_data_config": [dict(c) for c in definition.get("InputDataConfig") or []],
        "output_data_config": dict(definition.get("OutputDataConfig") or {}),
        "resource_config": dict(definition.get("ResourceConfig") or {}),
        "vpc_config": definition.get("VpcConfig"),
        "stopping_condition": dict(definition.get("StoppingCondition") or {}),
        "tags": [],
        "enable_network_isolation": definition.get("EnableNetworkIsolation", False),
        "enable_inter_container_traffic_encryption": definition.get(
            "EnableInterContainerTrafficEncryption", False
        ),
        "enable_managed_spot_training": definition.get("EnableManagedSpotTraining", False),
        "checkpoint_config": definition.get("CheckpointConfig"),
        "debug_hook_config": None,
        "debug_rule_configurations": None,
        "tensor_board_output_config": None,
        "experiment_config": None,
        "tuning_job_arn": tuning.arn,
    }


class TuningWorker:
    def __init__(self, sim: SageMakerSimulator, run: Run, backend, tuning) -> None:
        self.sim, self.run, self.backend, self.tuning = sim, run, backend, tuning
        config = tuning.hyper_parameter_tuning_job_config
        limits = config.get("ResourceLimits") or {}
        self.max_jobs = int(limits.get("MaxNumberOfTrainingJobs", 1))
        self.max_parallel = int(limits.get("MaxParallelTrainingJobs", 1))
        self.search = Search(
            tuning.hyper_parameter_tuning_job_name,
            config.get("Strategy", "Bayesian"),
            parse_ranges(config.get("ParameterRanges")),
            objective(tuning)[1] != "Maximize",
            self.max_parallel,
        )
        self.results: list[tuple[dict[str, str], float]] = []  # by finishing order, for the strategy
        self.scored: set[str] = set()
        self.started = time.monotonic()

    def __call__(self) -> None:
        try:
            self.run.cancel_event.wait(self.sim.phase_delay)
            while not self._step():
                self.run.cancel_event.wait(POLL)
        except Cancelled:
            if self.run.cancel_reason == "shutdown":
                self._finish("Failed", "InternalServerError: the SageMaker simulator was shut down")
        except Exception as e:
            log.exception("tuning job %s: simulator error", self.tuning.hyper_parameter_tuning_job_name)
            self._finish("Failed", f"InternalServerError: {type(e).__name__}: {e}")

    def _step(self) -> bool:
        """One look at the children; True once the tuning job ended."""
        if self.run.cancelled:
            raise Cancelled
        with self.sim.lock:
            jobs = refresh(self.backend, self.tuning)
            self._record(jobs)
            running = [j for j in jobs if j.training_job_status not in TERMINAL]
            if self.run.stop_requested:
                for job in running:
                    run = self.sim.runs.get(
                        ("training", self.run.account, self.run.region, job.training_job_name)
                    )
                    self.sim.stop_job(job, run)
                if not running:
                    self._finish("Stopped")
                    return True
                return False
            failed = sum(1 for j in jobs if j.training_job_status in TERMINAL) - len(self.results)
            give_up = not self.results and failed >= min(GIVE_UP_AFTER, self.max_jobs)
            launched = len(self.tuning.sim_children)
            while not give_up and launched < self.max_jobs and len(running) < self.max_parallel:
                launched += 1
                running.append(self._launch(launched))
            if running:
                return False
            if self.results:
                self._finish("Completed")
            else:
                self._finish(
                    "Failed",
                    f"No training job succeeded after {failed} attempts. Please take a look at the training "
                    "job failures to get more details.",
                )
            return True

    def _record(self, jobs: list) -> None:
        for job in jobs:
            if job.training_job_name in self.scored or job.training_job_status not in TERMINAL:
                continue
            self.scored.add(job.training_job_name)
            value = objective_value(self.tuning, job)
            if value is not None:
                tuned = {k: job.hyper_parameters[k] for k in tuned_names(self.tuning)}
                self.results.append((tuned, value))

    def _launch(self, index: int):
        name = child_name(self.tuning, index)
        tuned = self.search.propose(index, self.results)
        self.tuning.sim_children.append(name)
        job = self.backend.create_training_job(name, **child_request(self.tuning, tuned))
        log.info("tuning job %s started %s with %s", self.tuning.hyper_parameter_tuning_job_name, name, tuned)
        return job

    def _finish(self, status: str, reason: str | None = None) -> None:
        with self.sim.lock:
            if self.tuning.hyper_parameter_tuning_job_status in TERMINAL:
                return
            if self.backend.hyper_parameter_tuning_jobs.get(self.run.name) is not self.tuning:
                return  # reset or deleted meanwhile
            refresh(self.backend, self.tuning)
            now = utcnow()
            self.tuning.failure_reason = reason
            self.tuning.hyper_parameter_tuning_end_time = now
            self.tuning.consumed_resources = {
                "RuntimeInSeconds": max(1, round(time.monotonic() - self.started))
            }
            self.tuning.last_modified_time = now
            self.tuning.hyper_parameter_tuning_job_status = status
        log.info("tuning job %s %s %s", self.run.name, status, reason or "")
