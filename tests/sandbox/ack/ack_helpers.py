"""Helpers for the ACK controller emulator's suites: CRs built from the published ACK e2e samples (copied in
``samples/``), data in S3, waits on status fields and conditions, kubectl. A uniquely named module, so
``import`` never picks up another directory's helper."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import yaml
from kubernetes import client

from tests import helpers
from tests.helpers import wait_for

SAMPLES = Path(__file__).resolve().parent / "samples"
GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
FAULT_ANNOTATION = "sandbox.sagemaker.local/fault"
KUBECTL = "/usr/bin/kubectl"
XGBOOST_IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1"
XGBOOST_V1_IMAGE = "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"
# fewer, shallower trees than the sample's 10 x depth 5: well under a second of real training
QUICK = {"max_depth": "3", "num_round": "3"}
TJ, HPO, TRANSFORM = "trainingjobs", "hyperparametertuningjobs", "transformjobs"
MODELS, CONFIGS, ENDPOINTS = "models", "endpointconfigs", "endpoints"
JOB_DONE = ("Completed", "Failed", "Stopped")


def finalizer(kind: str) -> str:
    return f"finalizers.sagemaker.services.k8s.aws/{kind}"


def aws(sandbox, service: str):
    return helpers.aws(sandbox, service, retries=False)


@functools.cache
def sample_text(name: str) -> str:
    return (SAMPLES / f"e2e-{name}.yaml").read_text()


def sample(name: str, sandbox, **values: str) -> dict:
    """A sample with its ``$VARIABLES`` substituted: the sandbox's bucket and role, the given values."""
    values = {
        "SAGEMAKER_DATA_BUCKET": sandbox.info.bucket,
        "SAGEMAKER_EXECUTION_ROLE_ARN": sandbox.info.execution_role_arn,
        "XGBOOST_IMAGE_URI": XGBOOST_IMAGE,
        "XGBOOST_V1_IMAGE_URI": XGBOOST_V1_IMAGE,
        "TRAINING_JOB_INSTANCE_TYPE": "ml.m5.large",
        "ENDPOINT_INSTANCE_TYPE": "ml.c5.large",
        **values,
    }
    text = sample_text(name)
    for key in sorted(values, key=len, reverse=True):  # $MODEL_NAME before $MODEL
        text = text.replace(f"${key}", values[key])
    assert "$" not in text, text
    cr = yaml.safe_load(text)
    cr["metadata"]["namespace"] = "default"
    return cr


def annotate(cr: dict, fault: str | None = None, **annotations: str) -> dict:
    extra = {**annotations, **({FAULT_ANNOTATION: fault} if fault else {})}
    if extra:
        cr["metadata"].setdefault("annotations", {}).update(extra)
    return cr


def training_cr(sandbox, data: str, name: str, *, fault: str | None = None, **hyperparameters: str) -> dict:
    """The e2e TrainingJob sample named ``name``, on ``data`` (``s3://bucket/prefix/`` with train/ and
    validation/), quick unless hyperparameters say otherwise."""
    cr = sample("xgboost_trainingjob", sandbox, TRAINING_JOB_NAME=name)
    cr["spec"]["hyperParameters"].update({**QUICK, **hyperparameters})
    cr["spec"]["outputDataConfig"]["s3OutputPath"] = f"{data}output"
    for channel in cr["spec"]["inputDataConfig"]:
        channel["dataSource"]["s3DataSource"]["s3URI"] = f"{data}{channel['channelName']}"
    return annotate(cr, fault)


def model_cr(sandbox, name: str, model_data_url: str) -> dict:
    cr = sample("xgboost_model", sandbox, MODEL_NAME=name)
    cr["spec"]["primaryContainer"]["modelDataURL"] = model_data_url
    return cr


def config_cr(sandbox, name: str, model: str, instance_count: int = 1) -> dict:
    cr = sample("endpoint_config_single_variant", sandbox, ENDPOINT_CONFIG_NAME=name, MODEL_NAME=model)
    cr["spec"]["productionVariants"][0]["initialInstanceCount"] = instance_count
    return cr


def endpoint_cr(sandbox, name: str, config: str, *, fault: str | None = None) -> dict:
    return annotate(sample("endpoint_base", sandbox, ENDPOINT_NAME=name, ENDPOINT_CONFIG_NAME=config), fault)


def get_cr(sandbox, plural: str, name: str, namespace: str = "default") -> dict | None:
    return sandbox.kube.get(API_VERSION, plural, name, namespace=namespace)


def status_of(sandbox, plural: str, name: str, namespace: str = "default") -> dict:
    return (get_cr(sandbox, plural, name, namespace) or {}).get("status") or {}


def conditions(status: dict) -> dict[str, dict]:
    """``{type: condition}``."""
    return {c["type"]: c for c in status.get("conditions") or []}


def condition(status: dict, kind: str) -> tuple:
    """``(status, message)`` of one condition, ``(None, None)`` if absent."""
    c = conditions(status).get(kind) or {}
    return c.get("status"), c.get("message")


def wait_status(
    sandbox,
    plural: str,
    name: str,
    predicate,
    *,
    timeout: float = 60.0,
    what: str = "",
    namespace: str = "default",
) -> dict:
    """Wait until ``predicate(status)`` holds; returns the status."""

    def reached():
        status = status_of(sandbox, plural, name, namespace)
        return status if status and predicate(status) else None

    return wait_for(reached, timeout=timeout, what=f"{plural}/{name}: {what or predicate}")


def wait_field(sandbox, plural: str, name: str, field: str, values, **kw) -> dict:
    values = {values} if isinstance(values, str) else set(values)
    return wait_status(
        sandbox, plural, name, lambda s: s.get(field) in values, what=f"{field} in {values}", **kw
    )


def wait_condition(sandbox, plural: str, name: str, kind: str, status: str = "True", **kw) -> dict:
    return wait_status(
        sandbox, plural, name, lambda s: condition(s, kind)[0] == status, what=f"{kind}={status}", **kw
    )


def wait_passes(sandbox, count: int = 2, timeout: float = 30.0) -> None:
    """Let the ACK emulator finish ``count`` more full passes (instead of sleeping)."""
    target = sandbox.ack.passes + count + 1
    wait_for(lambda: sandbox.ack.passes >= target, timeout=timeout, what=f"{count} controller passes")


def delete_cr(sandbox, plural: str, name: str, namespace: str = "default") -> None:
    sandbox.kube.delete(API_VERSION, plural, name, namespace=namespace)


def wait_gone(sandbox, plural: str, name: str, namespace: str = "default", timeout: float = 60.0) -> None:
    api = client.CustomObjectsApi(client.ApiClient(client.Configuration(host=sandbox.info.kube_url)))

    def gone() -> bool:
        try:
            api.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except client.ApiException as e:
            if e.status == 404:
                return True
            raise
        return False

    wait_for(gone, timeout=timeout, what=f"{plural}/{name} to disappear")


def patch_cr(sandbox, plural: str, name: str, body: dict, namespace: str = "default") -> dict:
    return sandbox.kube.patch(API_VERSION, plural, name, body, namespace=namespace)


def kubectl(sandbox, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.state_dir / "kubeconfig"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- data ------------------------------------------------------------------------------------------------
@functools.cache
def _splits():
    from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
    from sagemaker_k8s.dataset.sources import bundled_sample_path

    return split_sample(*load_sample_csv_gz(bundled_sample_path().read_bytes()))


def upload_data(sandbox, prefix: str, train_rows: int = 600, validation_rows: int = 200) -> str:
    """The first rows of the bundled MNIST sample's train and validation splits (label first) under
    ``s3://<bucket>/<prefix>/{train,validation}/examples``; returns ``s3://<bucket>/<prefix>/``."""
    from sagemaker_k8s.dataset.csvfmt import to_csv_bytes

    s3 = aws(sandbox, "s3")
    for channel, rows in (("train", train_rows), ("validation", validation_rows)):
        split = getattr(_splits(), channel)
        body = to_csv_bytes(split.X[:rows], split.y[:rows])
        s3.put_object(Bucket=sandbox.info.bucket, Key=f"{prefix}/{channel}/examples", Body=body)
    return f"s3://{sandbox.info.bucket}/{prefix}/"


def held_out_rows(count: int = 20) -> tuple[bytes, list[int]]:
    """``count`` rows of the held-out split as CSV without the label, and their digits."""
    from sagemaker_k8s.dataset.csvfmt import to_csv_bytes

    test = _splits().test
    return to_csv_bytes(test.X[:count], None), [int(v) for v in test.y[:count]]


def s3_objects(sandbox, uri: str) -> dict[str, bytes]:
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    s3 = aws(sandbox, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def invoke(sandbox, endpoint: str, body: bytes) -> list[float]:
    response = aws(sandbox, "sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=body
    )
    return [float(p) for p in response["Body"].read().decode().split()]


def local_predictions(sandbox, model_url: str, body: bytes) -> list[float]:
    """What the model itself predicts for ``body``, computed here from its model.tar.gz."""
    from sandbox.aws import xgb_algo

    bucket, key = model_url.removeprefix("s3://").split("/", 1)
    archive = aws(sandbox, "s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    booster = xgb_algo.load_booster(xgb_algo.unpack_model(archive))
    out, _ = xgb_algo.predict(booster, body, "text/csv", "text/csv")
    return [float(p) for p in out.decode().split()]
