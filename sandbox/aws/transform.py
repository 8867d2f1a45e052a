"""Batch transform jobs that really predict: the transform worker.

CreateTransformJob -> ``InProgress``; the worker loads the model's ``model.tar.gz`` (hosting.fetch_booster),
reads every object under ``TransformInput.DataSource.S3DataSource.S3Uri`` (``S3Prefix``; ``Gzip`` input is
decompressed), sends it to the model the way SageMaker splits and batches it, and writes
``<S3OutputPath>/<object key relative to the prefix>.out``, then ``Completed``.

* ``SplitType`` ``Line``: one record per line (blank lines skipped); ``MultiRecord`` (the default batch
  strategy) packs as many records into a request as ``MaxPayloadInMB`` (6) allows, ``SingleRecord`` one.
  ``None``: the whole object is one request (``ClientError`` if it exceeds the payload limit).
* Every request is answered like InvokeEndpoint (xgb_algo.predict, ``Accept`` text/csv by default:
  one prediction per line). ``AssembleWith`` ``Line`` appends a newline to every response, so the
  ``.out`` object holds one prediction per input line, in order, each line ending in ``\\n``;
  ``None`` concatenates the responses as they are.
* Failures end ``Failed`` with a FailureReason: the model's artifact missing or unreadable, no object under
  the input prefix, a record the model rejects, an output that cannot be written (written objects stay).
* Timing: three phase delays launching the instances, the work, one more phase delay.
* StopTransformJob -> ``Stopping`` -> ``Stopped`` (between requests). Faults by transform job name:
  ``fail`` (reason), ``hang`` (stays InProgress until stopped or the fault is cleared), ``stop``, ``slow``.
"""

from __future__ import annotations

import gzip
import logging
import time
from typing import TYPE_CHECKING

from moto.core.utils import utcnow

from . import s3io, xgb_algo
from .hosting import ModelDataError, fetch_booster
from .runs import Cancelled, Run

if TYPE_CHECKING:
    from .sagemaker_sim import SageMakerSimulator

log = logging.getLogger(__name__)

REASON_MAX = 1024
DEFAULT_MAX_PAYLOAD_MB = 6
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
LAUNCH_PHASES = 3  # phase delays before the first request; one more after the last output


class TransformFailed(Exception):
    pass


class TransformStopped(Exception):
    pass


def output_uri(input_uri: str, key: str, output_path: str) -> str:
    """``<S3OutputPath>/<key relative to the input prefix>.out``. A prefix without a trailing slash that
    names a folder counts as that folder; one that names an object (or ends mid-name) as its parent."""
    prefix = s3io.split_s3_uri(input_uri)[1]
    rest = key[len(prefix) :]
    if prefix and not prefix.endswith("/") and rest.startswith("/"):
        relative = rest[1:]
    elif not prefix or prefix.endswith("/"):
        relative = rest
    else:
        relative = key[prefix.rfind("/") + 1 :]
    return f"{output_path.rstrip('/')}/{relative}.out"


def requests(body: bytes, split: str, strategy: str, max_bytes: int) -> list[bytes]:
    """The request bodies SageMaker sends for one input object."""
    if split != "Line":
        if len(body) > max_bytes:
            raise TransformFailed(
                f"ClientError: Too much data for max payload size: the object is {len(body)} bytes and "
                f"MaxPayloadInMB allows {max_bytes}. Use SplitType Line or a larger MaxPayloadInMB."
            )
        return [body]
    records = [line for line in body.splitlines() if line.strip()]
    if strategy == "SingleRecord":
        return records
    batches, current, size = [], [], 0
    for record in records:
        if current and size + len(record) + 1 > max_bytes:
            batches.append(b"\n".join(current))
            current, size = [], 0
        current.append(record)
        size += len(record) + 1
    if current:
        batches.append(b"\n".join(current))
    return batches


def request_stop(sim: SageMakerSimulator, job, run: Run | None) -> None:
    """StopTransformJob (and the ``stop`` fault): ``Stopping``, and the worker ends it ``Stopped``."""
    with sim.lock:
        if job.transform_job_status != "InProgress":
            return
        job.transform_job_status = "Stopping"
        job.last_modified_time = utcnow()
        if run is not None and run.alive() and not run.cancelled:
            run.request_stop()
        else:  # no worker left (a reset, or a job from before install()): stopped at once
            job.transform_job_status = "Stopped"


class TransformWorker:
    def __init__(self, sim: SageMakerSimulator, run: Run, backend, job) -> None:
        self.sim, self.run, self.backend, self.job = sim, run, backend, job
        self.name = job.transform_job_name

    def _checkpoint(self) -> None:
        if self.run.cancelled:
            raise Cancelled
        if self.run.stop_requested:
            raise TransformStopped

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            self._checkpoint()
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            self.run.wake.wait(min(remaining, 0.05))

    def __call__(self) -> None:
        try:
            self._run()
        except Cancelled:
            if self.run.cancel_reason == "shutdown":
                self._finish("Failed", "InternalServerError: the SageMaker simulator was shut down")
        except TransformStopped:
            self.run.cancel_event.wait(self.sim.phase_delay)
            self._finish("Stopped")
        except TransformFailed as e:
            self._finish("Failed", str(e))
        except Exception as e:
            log.exception("transform job %s: simulator error", self.name)
            self._finish("Failed", f"InternalServerError: {type(e).__name__}: {e}")

    def _run(self) -> None:
        faults, delay = (
            self.sim.faults,
            self.sim.faults.delay_for(self.name, "InProgress", self.sim.phase_delay),
        )
        self._sleep(
            LAUNCH_PHASES * delay
        )  # launching the instances, as long as a training job's first phases
        fail = faults.find(self.name, "fail")
        if fail is not None:
            raise TransformFailed(fail.reason)
        if faults.find(self.name, "stop") is not None:
            request_stop(self.sim, self.job, self.run)
            self._checkpoint()
        hang = faults.find(self.name, "hang")
        while hang is not None and faults.active(hang):
            self._sleep(0.05)
        with self.sim.lock:
            self.job.transform_start_time = utcnow()
        booster = self._model()
        written = self._transform(booster)
        self._sleep(delay)
        log.info("transform job %s completed: %s", self.name, written)
        self._finish("Completed")

    def _model(self):
        model = self.backend._models.get(self.job.model_name)
        if model is None:
            raise TransformFailed(f'ClientError: Could not find model "{self.job.model_name}".')
        try:
            return fetch_booster(model, self.run.account, self.run.region)[0]
        except ModelDataError as e:
            if e.stage in ("url", "download"):
                raise TransformFailed(
                    f'ClientError: Failed to download model data (URL: "{e.url}") for container '
                    f'"{e.hostname}". Please ensure that there is an object located at the URL and that the '
                    "role passed to CreateModel has permissions to download the object."
                ) from e
            raise TransformFailed(
                f'ClientError: Failed to load the model of container "{e.hostname}" from "{e.url}": the '
                "object is not a valid XGBoost model.tar.gz archive."
            ) from e

    def _transform(self, booster) -> list[str]:
        source = self.job.transform_input or {}
        uri = ((source.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri", "")
        try:
            objects = s3io.list_prefix(self.run.account, self.run.region, uri)
        except (s3io.S3Missing, ValueError):
            objects = []
        if not objects:
            raise TransformFailed(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please '
                f"ensure that the bucket exists in the selected region ({self.run.region}) and that objects "
                "exist under that S3 prefix."
            )
        output = self.job.transform_output or {}
        max_bytes = int(self.job.max_payload_in_mb or DEFAULT_MAX_PAYLOAD_MB) * 1024 * 1024
        written = []
        for key, body in objects:
            self._checkpoint()
            if (source.get("CompressionType") or "None") == "Gzip":
                try:
                    body = gzip.decompress(body)
                except OSError as e:
                    raise TransformFailed(
                        f"ClientError: Unable to decompress {key} (CompressionType Gzip)"
                    ) from e
            parts = []
            split, strategy = source.get("SplitType") or "None", self.job.batch_strategy or "MultiRecord"
            for request in requests(body, split, strategy, max_bytes):
                self._checkpoint()
                parts.append(self._predict(booster, key, request, source, output))
            target = output_uri(uri, key, output.get("S3OutputPath", ""))
            try:
                s3io.put_object(self.run.account, self.run.region, target, b"".join(parts))
            except (s3io.S3Missing, ValueError) as e:
                raise TransformFailed(f"ClientError: Failed to upload the output to {target}: {e}") from e
            written.append(target)
            time.sleep(0)  # predictions hold the GIL; let the server's threads answer
        return written

    def _predict(self, booster, key: str, request: bytes, source: dict, output: dict) -> bytes:
        try:
            out, _ = xgb_algo.predict(booster, request, source.get("ContentType"), output.get("Accept"))
        except xgb_algo.PayloadError as e:
            raise TransformFailed(
                f"ClientError: See job logs for more information. The model answered {e.status} for "
                f"s3 object {key}: {e}"
            ) from e
        return out + b"\n" if (output.get("AssembleWith") or "None") == "Line" else out

    def _finish(self, status: str, reason: str | None = None) -> None:
        with self.sim.lock:
            if self.run.cancelled and self.run.cancel_reason != "shutdown":
                return
            if self.job.transform_job_status in TERMINAL:
                return
            now = utcnow()
            self.job.failure_reason = reason[:REASON_MAX] if reason else None
            self.job.transform_end_time = now
            self.job.last_modified_time = now
            self.job.transform_job_status = status
        log.info("transform job %s %s %s", self.name, status, reason or "")
