"""The training-job worker: walks a moto ``FakeTrainingJob`` through SageMaker's phases and really trains.

Every state change is written onto the moto job object (under the simulator's lock), so DescribeTrainingJob
and ListTrainingJobs are the only truth. Attributes are only ever *reassigned* (never added) because moto
builds responses by iterating the object's ``__dict__`` from the server's request threads.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from moto.core.utils import utcnow

from . import s3io, xgb_algo
from .faults import TRAINING_PHASES
from .runs import Cancelled, Run

if TYPE_CHECKING:
    from .sagemaker_sim import SageMakerSimulator

log = logging.getLogger(__name__)

REASON_MAX = 1024
MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job stopped because it exceeded MaxRuntimeInSeconds",
}


class JobFailed(Exception):
    """Ends the job ``Failed``; the message is the FailureReason verbatim."""


class JobStopped(Exception):
    def __init__(self, secondary: str) -> None:
        super().__init__(secondary)
        self.secondary = secondary


def model_artifact_uri(job) -> str:
    return os.path.join(
        job.output_data_config["S3OutputPath"], job.training_job_name, "output", "model.tar.gz"
    )


def initial_state(job) -> None:
    """Called on a fresh FakeTrainingJob before it is registered in the backend."""
    now = utcnow()
    job.training_job_status = "InProgress"
    job.secondary_status = "Starting"
    job.creation_time = job.last_modified_time = now
    job.training_start_time = None
    job.training_end_time = None
    job.model_artifacts = None
    job.final_metric_data_list = None
    job.failure_reason = None
    job.training_time_in_seconds = None
    job.billable_time_in_seconds = None
    job.secondary_status_transitions = [
        {"Status": "Starting", "StartTime": now, "StatusMessage": MESSAGES["Starting"]}
    ]


def transition(job, status: str, secondary: str, message: str | None = None, **attrs) -> None:
    """Caller holds the simulator lock. Attributes first, status last."""
    now = utcnow()
    transitions = [dict(t) for t in (job.secondary_status_transitions or [])]
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    entry = {
        "Status": secondary,
        "StartTime": now,
        "StatusMessage": message or MESSAGES.get(secondary, secondary),
    }
    if status in ("Completed", "Failed", "Stopped"):
        entry["EndTime"] = now
        if job.training_start_time is not None:
            seconds = max(1, round((now - job.training_start_time).total_seconds()))
            attrs.setdefault("training_end_time", now)
            attrs.setdefault("training_time_in_seconds", seconds)
            attrs.setdefault("billable_time_in_seconds", seconds)
    transitions.append(entry)
    for name, value in attrs.items():
        if name not in job.__dict__:
            raise AttributeError(f"refusing to add attribute {name} to a live moto object")
        setattr(job, name, value)
    job.secondary_status_transitions = transitions
    job.last_modified_time = now
    job.secondary_status = secondary
    job.training_job_status = status


class TrainingWorker:
    def __init__(self, sim: SageMakerSimulator, run: Run, job, account: str, region: str) -> None:
        self.sim, self.run, self.job = sim, run, job
        self.account, self.region = account, region
        self.name = job.training_job_name
        self.deadline: float | None = None

    # -- helpers -----------------------------------------------------------------------------------
    def checkpoint(self) -> None:
        if self.run.cancelled:
            raise Cancelled
        if self.run.stop_requested:
            raise JobStopped("Stopped")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise JobStopped("MaxRuntimeExceeded")

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            self.checkpoint()
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            if self.deadline is not None:
                remaining = min(remaining, max(0.0, self.deadline - time.monotonic()) + 0.001)
            self.run.wake.wait(min(remaining, 0.25))

    def delay(self, phase: str) -> float:
        return self.sim.faults.delay_for(self.name, phase, self.sim.phase_delay)

    def enter(self, index: int) -> float:
        """Move to phase ``index`` (0 = Starting, already set), apply faults; returns the phase's start."""
        started = time.monotonic()
        self.checkpoint()
        phase = TRAINING_PHASES[index] if index < len(TRAINING_PHASES) else None
        if phase is not None and index > 0:
            with self.sim.lock:
                self.checkpoint()  # a StopTrainingJob may have raced us: never overwrite Stopping
                attrs = {}
                if phase == "Downloading":
                    attrs["training_start_time"] = utcnow()
                    max_runtime = (self.job.stopping_condition or {}).get("MaxRuntimeInSeconds")
                    if max_runtime:
                        self.deadline = time.monotonic() + float(max_runtime)
                transition(self.job, "InProgress", phase, **attrs)
        # fail/stop faults strike *during* phase ``after_phases`` (after that many phases completed)
        fail = self.sim.faults.find(self.name, "fail")
        if fail is not None and fail.after_phases <= index:
            if phase is not None:
                self.sleep(self.delay(phase))
            raise JobFailed(fail.reason)
        stop = self.sim.faults.find(self.name, "stop")
        if stop is not None and stop.after_phases <= index:
            if phase is not None:
                self.sleep(self.delay(phase))
            self.sim.stop_job(self.job, self.run)
            self.checkpoint()
        hang = self.sim.faults.find(self.name, "hang")
        if hang is not None and hang.phase == phase:
            log.info("training job %s hangs in %s (fault)", self.name, phase)
            while self.sim.faults.active(hang):
                self.sleep(0.05)
        return started

    def hold(self, phase: str, started: float) -> None:
        """The phase lasts at least its delay, and stays visible for at least half of it after its work
        (heavy work can starve the server's request threads of the GIL)."""
        delay = self.delay(phase)
        self.sleep(max(delay - (time.monotonic() - started), delay / 2))

    def acquire_slot(self) -> None:
        while not self.sim.slots.acquire(timeout=0.05):
            self.checkpoint()

    # -- phases --------------------------------------------------------------------------------------
    def download(self) -> dict[str, tuple]:
        channels = {c.get("ChannelName"): c for c in (self.job.input_data_config or [])}
        if "train" not in channels:
            raise JobFailed(
                "ClientError: No data in the 'train' channel: InputDataConfig must have a channel named "
                f"'train' (got {sorted(k for k in channels if k)})"
            )
        data = {}
        for name in ("train", "validation"):
            channel = channels.get(name)
            if channel is None:
                continue
            source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
            uri = source.get("S3Uri", "")
            if source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise JobFailed(f"ClientError: S3DataType {source.get('S3DataType')} is not supported here")
            try:
                objects = s3io.list_prefix(self.account, self.region, uri)
            except (s3io.S3Missing, ValueError):
                objects = []
            if not objects:
                bucket = uri[5:].split("/", 1)[0] if uri.startswith("s3://") else uri
                raise JobFailed(
                    f'ClientError: Data download failed:No S3 objects found under S3 URL "{uri}" given in '
                    "input data source. Please ensure that the bucket exists in the selected region "
                    f"({self.region}), that objects exist under that S3 prefix, and that the role "
                    f'{self.job.role_arn} has "s3:ListBucket" permissions on bucket "{bucket}".'
                )
            self.checkpoint()
            try:
                data[name] = xgb_algo.load_channel(
                    name,
                    [blob for _, blob in objects],
                    channel.get("ContentType"),
                    channel.get("CompressionType"),
                )
            except xgb_algo.ClientError as e:
                raise JobFailed(f"ClientError: {e}") from e
        return data

    def train(self, data: dict[str, tuple]):
        try:
            params = xgb_algo.parse_hyperparameters(self.job.hyper_parameters)
            return xgb_algo.train(params, data["train"], data.get("validation"), self._abort_check)
        except xgb_algo.AlgorithmError as e:
            raise JobFailed(f"AlgorithmError: {e}") from e
        except xgb_algo.ClientError as e:
            raise JobFailed(f"ClientError: {e}") from e
        except xgb_algo.Aborted as e:
            if isinstance(e.__cause__, JobStopped | Cancelled):
                raise e.__cause__ from None
            raise

    def _abort_check(self) -> None:
        try:
            self.checkpoint()
        except (JobStopped, Cancelled) as e:
            raise xgb_algo.Aborted() from e

    def upload(self, booster) -> str:
        uri = model_artifact_uri(self.job)
        archive = xgb_algo.package_model(booster)
        self.checkpoint()
        try:
            s3io.put_object(self.account, self.region, uri, archive)
        except (s3io.S3Missing, ValueError) as e:
            raise JobFailed(
                f"ClientError: Failed to upload model artifacts to {uri}: {e}. Please ensure the output "
                f"bucket exists in {self.region} and the role {self.job.role_arn} may write to it."
            ) from e
        return uri

    # -- main ------------------------------------------------------------------------------------------
    def __call__(self) -> None:
        try:
            self._run()
        except Cancelled:
            if self.run.cancel_reason == "shutdown":
                self._finish(
                    "Failed",
                    "Failed",
                    failure_reason="InternalServerError: the SageMaker simulator was shut down",
                )
        except JobStopped as s:
            self._stopped(s.secondary)
        except JobFailed as f:
            self._finish("Failed", "Failed", failure_reason=str(f)[:REASON_MAX])
        except Exception as e:
            log.exception("training job %s: simulator error", self.name)
            self._finish(
                "Failed",
                "Failed",
                failure_reason=f"InternalServerError: {type(e).__name__}: {e}"[:REASON_MAX],
            )

    def phase(self, index: int, work):
        """Enter phase ``index``, do ``work``; the phase lasts at least its delay, even when it fails."""
        started = self.enter(index)
        try:
            result = work()
        except JobFailed:
            self.hold(TRAINING_PHASES[index], started)
            raise
        self.hold(TRAINING_PHASES[index], started)
        return result

    def _run(self) -> None:
        self.phase(0, lambda: None)
        self.acquire_slot()
        try:
            data = self.phase(1, self.download)
            booster, metrics = self.phase(2, lambda: self.train(data))
            uri = self.phase(3, lambda: self.upload(booster))
            self.enter(4)
        finally:
            self.sim.slots.release()
        now = utcnow()
        metric_list = [{"MetricName": k, "Value": v, "Timestamp": now} for k, v in sorted(metrics.items())]
        log.info("training job %s completed: %s", self.name, metrics)
        self._finish(
            "Completed",
            "Completed",
            model_artifacts={"S3ModelArtifacts": uri},
            final_metric_data_list=metric_list,
        )

    def _finish(self, status: str, secondary: str, message: str | None = None, **attrs) -> None:
        with self.sim.lock:
            if self.run.cancelled and self.run.cancel_reason != "shutdown":
                return
            if self.job.training_job_status in ("Completed", "Failed", "Stopped"):
                return
            transition(self.job, status, secondary, message, **attrs)

    def _stopped(self, secondary: str) -> None:
        if secondary == "Stopped":
            if self.job.training_job_status != "Stopping":  # defensive; request_stop sets it
                with self.sim.lock:
                    transition(self.job, "Stopping", "Stopping")
            self.run.cancel_event.wait(self.delay("Stopping"))
        self._finish("Stopped", secondary)
