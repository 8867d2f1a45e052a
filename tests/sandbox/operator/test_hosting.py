"""The operator emulator's HostingDeployment controller (notes A.5) against one sandbox for the module:
a model trained through a TrainingJob CR is deployed, really serves predictions, and deleting the CR
removes the endpoint, its config and its model; endpoint failures and operator errors show in the status."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import wait_for
from operator_helpers import (
    FINALIZER,
    QUICK_HYPERPARAMETERS,
    StatusHistory,
    aws,
    get_cr,
    hosting_cr,
    status_of,
    training_cr,
    wait_gone,
    wait_status,
)

HD = "hostingdeployments"
STATUS = "endpointStatus"


def uid_hex(obj: dict) -> str:
    return obj["metadata"]["uid"].replace("-", "")


def sagemaker_exists(describe, **kwargs) -> bool:
    try:
        describe(**kwargs)
    except ClientError as e:
        assert "Could not find" in str(e), e
        return False
    return True


@pytest.fixture(scope="module")
def model_path(shared_sandbox, shared_data) -> str:
    """status.modelPath of a TrainingJob CR trained on the sample."""
    shared_sandbox.kube.apply(
        training_cr(shared_sandbox, shared_data, "for-hosting", hyperparameters=QUICK_HYPERPARAMETERS)
    )
    status = wait_status(
        shared_sandbox, "trainingjobs", "for-hosting", "trainingJobStatus", ("Completed", "Failed")
    )
    assert status["trainingJobStatus"] == "Completed", status
    return status["modelPath"]


@pytest.fixture(scope="module")
def test_rows(shared_sandbox, shared_data) -> tuple[bytes, list[int]]:
    """The first rows of the uploaded test split (CSV without labels) and their true digits."""
    from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
    from sagemaker_k8s.dataset.sources import bundled_sample_path

    bucket, prefix = shared_data.removeprefix("s3://").split("/", 1)
    body = aws(shared_sandbox, "s3").get_object(Bucket=bucket, Key=f"{prefix}test/examples")["Body"].read()
    rows = body.decode().splitlines()[:40]
    labels = split_sample(*load_sample_csv_gz(bundled_sample_path().read_bytes())).test.y[:40]
    assert len(rows[0].split(",")) == 784  # features only
    return ("\n".join(rows) + "\n").encode(), [int(v) for v in labels]


def test_hosting_deployment_serves_then_deletes_everything(shared_sandbox, model_path, test_rows):
    sandbox = shared_sandbox
    created = sandbox.kube.apply(hosting_cr(sandbox, model_path))
    history = StatusHistory(sandbox, HD, created, STATUS)
    status = wait_status(sandbox, HD, "hosting-deployment", STATUS, ("InService", "Failed"))
    assert status[STATUS] == "InService", status
    wait_for(lambda: history.primary[-1:] == ["InService"], timeout=10, what="the watch to see InService")
    assert history.primary[0] == "SynchronizingK8sJobWithSageMaker"
    assert "Creating" in history.primary

    endpoint = f"hosting-deployment-{uid_hex(created)}"  # generated; not written back into the spec
    assert "endpointName" not in get_cr(sandbox, HD, "hosting-deployment")["spec"]
    assert FINALIZER in get_cr(sandbox, HD, "hosting-deployment")["metadata"]["finalizers"]
    assert status["endpointName"] == endpoint
    assert status["endpointUrl"] == (
        f"https://runtime.sagemaker.{sandbox.info.region}.amazonaws.com/endpoints/{endpoint}/invocations"
    )
    assert status["endpointArn"].endswith(f"endpoint/{endpoint}")
    [model] = status["modelNames"]
    assert model == {"name": "xgboost-model", "value": f"xgboost-model-1-{uid_hex(created)}"}
    assert status["endpointConfigName"] == f"hosting-deployment-1-{uid_hex(created)}"
    [variant] = status["productionVariants"]
    assert variant["variantName"] == "AllTraffic"
    assert variant["currentInstanceCount"] == variant["desiredInstanceCount"] == 1
    assert "failureReason" not in status and "additional" not in status

    sm = aws(sandbox, "sagemaker")
    described_model = sm.describe_model(ModelName=model["value"])
    assert described_model["PrimaryContainer"]["ModelDataUrl"] == model_path
    assert described_model["ExecutionRoleArn"] == sandbox.info.execution_role_arn

    body, labels = test_rows
    response = aws(sandbox, "sagemaker-runtime").invoke_endpoint(
        EndpointName=status["endpointName"], ContentType="text/csv", Body=body
    )
    predictions = [int(float(p)) for p in response["Body"].read().decode().replace("\n", ",").split(",") if p]
    assert len(predictions) == len(labels)
    assert sum(p == y for p, y in zip(predictions, labels, strict=True)) / len(labels) >= 0.7

    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", HD, "hosting-deployment", namespace="default")
    wait_gone(sandbox, HD, "hosting-deployment")
    assert history.deleted.wait(10)
    assert "Deleting" in history.primary
    assert not sagemaker_exists(sm.describe_endpoint, EndpointName=endpoint)
    assert not sagemaker_exists(sm.describe_endpoint_config, EndpointConfigName=status["endpointConfigName"])
    assert not sagemaker_exists(sm.describe_model, ModelName=model["value"])


def test_endpoint_fault_shows_failure_reason_and_still_deletes(shared_sandbox):
    sandbox = shared_sandbox
    cr = hosting_cr(sandbox, "s3://nowhere/model.tar.gz", "doomed", fault="endpoint-fail:ping check failed")
    created = sandbox.kube.apply(cr)
    status = wait_status(sandbox, HD, "doomed", STATUS, ("InService", "Failed"))
    assert status[STATUS] == "Failed"
    assert status["failureReason"] == "ping check failed"
    assert status["endpointName"] == f"doomed-{uid_hex(created)}"

    sm = aws(sandbox, "sagemaker")
    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", HD, "doomed", namespace="default")
    wait_gone(sandbox, HD, "doomed")
    assert not sagemaker_exists(sm.describe_endpoint, EndpointName=status["endpointName"])
    assert not sagemaker_exists(sm.describe_endpoint_config, EndpointConfigName=status["endpointConfigName"])
    assert not sagemaker_exists(sm.describe_model, ModelName=status["modelNames"][0]["value"])


def test_reconcile_error_fault_shows_in_additional(shared_sandbox):
    sandbox = shared_sandbox
    sandbox.kube.apply(
        hosting_cr(sandbox, "s3://nowhere/model.tar.gz", "unreachable", fault="reconcile-error:no API")
    )
    status = wait_status(sandbox, HD, "unreachable", STATUS, "ReconcilingEndpoint")
    assert "no API" in status["additional"]
    assert "endpointName" not in status
    assert FINALIZER in get_cr(sandbox, HD, "unreachable")["metadata"]["finalizers"]
    assert status_of(sandbox, HD, "unreachable")[STATUS] == "ReconcilingEndpoint"
