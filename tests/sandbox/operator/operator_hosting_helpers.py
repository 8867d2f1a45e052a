"""Helpers for the HostingDeployment suites: trained models, the HD's child CRs, what SageMaker serves
(DescribeEndpoint -> EndpointConfig -> Model, and InvokeEndpoint compared with the model's own
predictions), spec edits over HTTP, and waits with deadlines. Uniquely named, like operator_helpers."""

from __future__ import annotations

from botocore.exceptions import ClientError
from kubernetes import client

from tests.helpers import wait_for
from tests.sandbox.operator.operator_helpers import (
    GROUP,
    VERSION,
    aws,
    kube_client,
    training_cr,
    wait_gone,
    wait_status,
)

HD = "hostingdeployments"
STATUS = "endpointStatus"
INITIAL = "SynchronizingK8sJobWithSageMaker"
LABELS = ("owner_HostingDeployment_namespace", "owner_HostingDeployment_name")


def uid_hex(obj: dict) -> str:
    return obj["metadata"]["uid"].replace("-", "")


def train(sandbox, data_uri: str, name: str, hyperparameters: dict[str, str]) -> str:
    """Run a TrainingJob CR to Completed; returns its status.modelPath."""
    return train_all(sandbox, data_uri, {name: hyperparameters})[name]


def train_all(sandbox, data_uri: str, jobs: dict[str, dict[str, str]]) -> dict[str, str]:
    """Run TrainingJob CRs side by side (the simulator trains two at a time); name -> status.modelPath."""
    for name, hyperparameters in jobs.items():
        sandbox.kube.apply(training_cr(sandbox, data_uri, name, hyperparameters=hyperparameters))
    paths = {}
    for name in jobs:
        status = wait_status(
            sandbox, "trainingjobs", name, "trainingJobStatus", ("Completed", "Failed"), timeout=90
        )
        assert status["trainingJobStatus"] == "Completed", status
        paths[name] = status["modelPath"]
    return paths


def children(sandbox, plural: str, hd_name: str, namespace: str = "default") -> dict[str, dict]:
    """The Model or EndpointConfig CRs a HostingDeployment owns, by name (listed by its labels over HTTP)."""
    api = client.CustomObjectsApi(kube_client(sandbox))
    selector = f"owner_HostingDeployment_namespace={namespace},owner_HostingDeployment_name={hd_name}"
    items = api.list_namespaced_custom_object(GROUP, VERSION, namespace, plural, label_selector=selector)
    return {o["metadata"]["name"]: o for o in items["items"]}


def wait_children(sandbox, plural: str, hd_name: str, names: set[str], timeout: float = 30.0) -> dict:
    """Wait until exactly ``names`` (and no other children) exist; returns them."""
    return wait_for(
        lambda: (found := children(sandbox, plural, hd_name)) and set(found) == names and found,
        timeout=timeout,
        what=f"{plural} of {hd_name} to be exactly {sorted(names)}",
    )


def patch_spec(sandbox, name: str, patch: dict, namespace: str = "default") -> dict:
    """A JSON merge patch of the HostingDeployment over HTTP (lists are replaced whole)."""
    api = client.CustomObjectsApi(kube_client(sandbox))
    return api.patch_namespaced_custom_object(GROUP, VERSION, namespace, HD, name, patch)


def with_model(cr: dict, model_data_url: str) -> dict:
    """The ``spec.models`` merge patch that points the (only) container at another model."""
    models = [dict(m) for m in cr["spec"]["models"]]
    models[0]["containers"] = [{**models[0]["containers"][0], "modelDataUrl": model_data_url}]
    return {"spec": {"models": models}}


def sagemaker_exists(describe, **kwargs) -> bool:
    try:
        describe(**kwargs)
    except ClientError as e:
        assert "Could not find" in str(e), e
        return False
    return True


def wait_sagemaker_gone(sandbox, *, models=(), configs=(), endpoints=(), timeout: float = 30.0) -> None:
    sm = aws(sandbox, "sagemaker")
    checks = [(sm.describe_model, {"ModelName": m}) for m in models]
    checks += [(sm.describe_endpoint_config, {"EndpointConfigName": c}) for c in configs]
    checks += [(sm.describe_endpoint, {"EndpointName": e}) for e in endpoints]
    for describe, kwargs in checks:
        wait_for(
            lambda d=describe, k=kwargs: not sagemaker_exists(d, **k), timeout=timeout, what=f"{kwargs} gone"
        )


def live(sandbox, endpoint: str) -> dict:
    """What SageMaker serves: status, config, the config's model and its ModelDataUrl, FailureReason."""
    sm = aws(sandbox, "sagemaker")
    described = sm.describe_endpoint(EndpointName=endpoint)
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model_name = config["ProductionVariants"][0]["ModelName"]
    model = sm.describe_model(ModelName=model_name)
    return {
        "status": described["EndpointStatus"],
        "config": described["EndpointConfigName"],
        "model": model_name,
        "model_url": model["PrimaryContainer"]["ModelDataUrl"],
        "failure": described.get("FailureReason"),
        "modified": described["LastModifiedTime"],
    }


def invoke(sandbox, endpoint: str, body: bytes) -> list[float]:
    response = aws(sandbox, "sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=body
    )
    return [float(p) for p in response["Body"].read().decode().split()]


def local_predictions(sandbox, model_path: str, body: bytes) -> list[float]:
    """What the model itself predicts for ``body``, computed here from its model.tar.gz."""
    from sandbox.aws import xgb_algo

    bucket, key = model_path.removeprefix("s3://").split("/", 1)
    archive = aws(sandbox, "s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    booster = xgb_algo.load_booster(xgb_algo.unpack_model(archive))
    out, _ = xgb_algo.predict(booster, body, "text/csv", "text/csv")
    return [float(p) for p in out.decode().split()]


def delete_hd(sandbox, name: str, namespace: str = "default") -> None:
    sandbox.kube.delete(f"{GROUP}/{VERSION}", HD, name, namespace=namespace)
    wait_gone(sandbox, HD, name, namespace)
