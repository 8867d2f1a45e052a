"""Endpoints that really serve: the deployment worker (Creating/Updating -> InService | Failed) and
InvokeEndpoint against the loaded XGBoost booster."""

from __future__ import annotations

import logging
import tarfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import xgboost as xgb
from moto.core.exceptions import ServiceException
from moto.core.utils import utcnow

from . import s3io, xgb_algo
from .runs import Cancelled, Run

if TYPE_CHECKING:
    from .sagemaker_sim import SageMakerSimulator

log = logging.getLogger(__name__)

REASON_MAX = 1024


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


class ModelError(ServiceException):
    code = "ModelError"

    def __init__(
        self, message: str, original_status: int, original_message: str, log_stream_arn: str
    ) -> None:
        super().__init__(message)
        self.OriginalStatusCode = original_status
        self.OriginalMessage = original_message
        self.LogStreamArn = log_stream_arn


class DeploymentFailed(Exception):
    pass


@dataclass
class Predictor:
    endpoint: object  # the moto FakeEndpoint it serves (identity check against resets / re-creates)
    booster: xgb.Booster
    variant_name: str
    model_name: str
    model_data_url: str
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModelDataError(Exception):
    """A model's artifact could not be served: ``stage`` is ``url`` (no ModelDataUrl), ``download``,
    ``extract`` or ``load``; callers phrase SageMaker's message for their API."""

    def __init__(self, stage: str, hostname: str, url: str) -> None:
        super().__init__(f"{stage} failed for {url!r}")
        self.stage, self.hostname, self.url = stage, hostname, url


def model_container(model) -> dict:
    return model.primary_container or (model.containers[0] if model.containers else None) or {}


def fetch_booster(model, account: str, region: str) -> tuple[xgb.Booster, str]:
    """Download, unpack and load a SageMaker model's ``model.tar.gz``: (booster, ModelDataUrl)."""
    container = model_container(model)
    hostname = container.get("ContainerHostname") or "container_1"
    url = container.get("ModelDataUrl")
    if not url:
        raise ModelDataError("url", hostname, "")
    try:
        archive = s3io.get_object(account, region, url)
    except (s3io.S3Missing, ValueError) as e:
        raise ModelDataError("download", hostname, url) from e
    try:
        model_bytes = xgb_algo.unpack_model(archive)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise ModelDataError("extract", hostname, url) from e
    try:
        return xgb_algo.load_booster(model_bytes), url
    except Exception as e:
        raise ModelDataError("load", hostname, url) from e


def load_predictor(backend, endpoint, config_name: str, account: str, region: str) -> Predictor:
    config = backend.endpoint_configs.get(config_name)
    if config is None:
        raise DeploymentFailed(f"Could not find endpoint configuration '{config_name}'.")
    variants = config.production_variants or []
    if not variants:
        raise DeploymentFailed(f"Endpoint configuration '{config_name}' has no production variants.")
    variant = variants[0]
    variant_name = variant.get("VariantName", "AllTraffic")
    model = backend._models.get(variant.get("ModelName"))
    if model is None:
        raise DeploymentFailed(f'Could not find model "{variant.get("ModelName")}".')
    ping = f"The primary container for production variant {variant_name} did not pass the ping health check"
    try:
        booster, url = fetch_booster(model, account, region)
    except ModelDataError as e:
        messages = {
            "url": f"{ping}: the container has no ModelDataUrl. "
            "Please check CloudWatch logs for this endpoint.",
            "download": f'Failed to download model data for container "{e.hostname}" from URL: "{e.url}". '
            "Please ensure that there is an object located at the URL and that the role passed to "
            "CreateModel has permissions to download the object.",
            "extract": f'Failed to extract model data archive for container "{e.hostname}" from URL '
            f'"{e.url}". Please ensure that the object located at the URL is a valid tar.gz archive',
            "load": f"{ping}. Please check CloudWatch logs for this endpoint.",
        }
        raise DeploymentFailed(messages[e.stage]) from e
    return Predictor(endpoint, booster, variant_name, model.model_name, url)


class EndpointWorker:
    """CreateEndpoint (``update`` False: ``Creating`` -> ``InService`` | ``Failed``) or UpdateEndpoint
    (``Updating``; the old model serves meanwhile. Success: the new config's model serves, the endpoint
    shows the new config and variants, FailureReason cleared. Failure: SageMaker rolls back, ``InService``
    on the old config with the old model serving and FailureReason set). Both set LastModifiedTime."""

    def __init__(
        self, sim: SageMakerSimulator, run: Run, backend, endpoint, config_name: str, update: bool
    ) -> None:
        self.sim, self.run, self.backend, self.endpoint = sim, run, backend, endpoint
        self.config_name, self.update = config_name, update
        self.name = endpoint.endpoint_name

    def _wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            if self.run.cancelled:
                raise Cancelled
            self.run.wake.wait(min(remaining, 0.25))
        if self.run.cancelled:
            raise Cancelled

    def _current(self) -> bool:
        return not self.run.cancelled and self.backend.endpoints.get(self.name) is self.endpoint

    def __call__(self) -> None:
        phase = "Updating" if self.update else "Creating"
        try:
            self._wait(self.sim.faults.delay_for(self.name, phase, self.sim.phase_delay))
            fault = self.sim.faults.find(self.name, "endpoint_fail")
            if fault is None and self.update:
                fault = self.sim.faults.find(self.name, "update_fail")
            if fault is not None:
                raise DeploymentFailed(fault.reason)
            predictor = load_predictor(
                self.backend, self.endpoint, self.config_name, self.run.account, self.run.region
            )
        except Cancelled:
            if self.run.cancel_reason == "shutdown":
                self._fail("InternalServerError: the SageMaker simulator was shut down", force=True)
            return
        except DeploymentFailed as e:
            self._fail(str(e))
            return
        except Exception as e:
            log.exception("endpoint %s: simulator error", self.name)
            self._fail(f"InternalServerError: {type(e).__name__}: {e}")
            return
        with self.sim.lock:
            if not self._current():
                return
            self.sim.predictors[self.run.key[1:]] = predictor
            if self.update:
                config = self.backend.endpoint_configs[self.config_name]
                self.endpoint.production_variants = self.endpoint._process_production_variants(
                    config.production_variants
                )
                self.endpoint.endpoint_config_name = self.config_name
            self.endpoint.failure_reason = None
            self.endpoint.last_modified_time = utcnow()
            self.endpoint.endpoint_status = "InService"
        log.info("endpoint %s InService (model %s)", self.name, predictor.model_data_url)

    def _fail(self, reason: str, force: bool = False) -> None:
        with self.sim.lock:
            if not force and not self._current():
                return
            if self.backend.endpoints.get(self.name) is not self.endpoint:
                return
            self.endpoint.failure_reason = reason[:REASON_MAX]
            self.endpoint.last_modified_time = utcnow()
            # a failed update rolls back: the old config keeps serving
            self.endpoint.endpoint_status = "InService" if self.update else "Failed"
        log.info("endpoint %s: deployment failed: %s", self.name, reason)


def invoke(
    sim: SageMakerSimulator, backend, account: str, region: str, name: str, body: bytes, content_type, accept
):
    """Returns (body, content_type, variant_name); raises the runtime's ValidationError / ModelError."""
    endpoint = backend.endpoints.get(name)
    if endpoint is None or endpoint.endpoint_status not in ("InService", "Updating", "SystemUpdating"):
        raise RuntimeValidationError(f"Endpoint {name} of account {account} not found.")
    predictor = sim.predictors.get((account, region, name))
    log_group = f"/aws/sagemaker/Endpoints/{name}"
    see = (
        f"See https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:"
        f"group={log_group} in account {account} for more information."
    )
    stream_arn = f"arn:aws:logs:{region}:{account}:log-group:{log_group}"
    if predictor is None or predictor.endpoint is not endpoint:
        raise ModelError(
            f'Received server error (500) from primary with message "No model is loaded". {see}',
            500,
            "No model is loaded",
            stream_arn,
        )
    try:
        with predictor.lock:
            out, out_type = xgb_algo.predict(predictor.booster, body, content_type, accept)
    except xgb_algo.PayloadError as e:
        raise ModelError(
            f'Received client error ({e.status}) from primary with message "{e}". {see}',
            e.status,
            str(e),
            stream_arn,
        ) from e
    except Exception as e:
        raise ModelError(
            f'Received server error (500) from primary with message "{type(e).__name__}: {e}". {see}',
            500,
            str(e),
            stream_arn,
        ) from e
    return out, out_type, predictor.variant_name
