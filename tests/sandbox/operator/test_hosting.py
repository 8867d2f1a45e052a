"""The operator emulator's HostingDeployment controller (notes A.5, A.7) against one sandbox for the module:
a model trained through a TrainingJob CR is deployed through generation-1 child Model and EndpointConfig
CRs (their own controllers create the SageMaker objects), really serves predictions, and deleting the CR
removes the endpoint, the children and their SageMaker objects; endpoint failures and operator errors
show in the status; the published samples work with kubectl. Spec updates: test_hosting_updates.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.operator.naming import generated_name
from tests.helpers import wait_for
from tests.sandbox.operator.operator_helpers import (
    FINALIZER,
    QUICK_HYPERPARAMETERS,
    StatusHistory,
    aws,
    get_cr,
    hosting_cr,
    status_of,
    wait_gone,
    wait_status,
)
from tests.sandbox.operator.operator_hosting_helpers import (
    HD,
    INITIAL,
    STATUS,
    children,
    delete_hd,
    invoke,
    live,
    train,
    uid_hex,
    wait_children,
    wait_sagemaker_gone,
)
from tests.sandbox.operator.operator_jobs_helpers import kubectl

SAMPLES = Path("/work/shared/reference/sagemaker-operator-samples")


@pytest.fixture(scope="module")
def model_path(shared_sandbox, shared_data) -> str:
    return train(shared_sandbox, shared_data, "for-hosting", QUICK_HYPERPARAMETERS)


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


def test_hosting_deployment_serves_through_child_crs_then_deletes_everything(
    shared_sandbox, model_path, test_rows
):
    sandbox = shared_sandbox
    created = sandbox.kube.apply(hosting_cr(sandbox, model_path))
    history = StatusHistory(sandbox, HD, created, STATUS)
    status = wait_status(sandbox, HD, "hosting-deployment", STATUS, ("InService", "Failed"))
    assert status[STATUS] == "InService", status
    wait_for(lambda: history.primary[-1:] == ["InService"], timeout=10, what="the watch to see InService")
    assert history.primary[0] == INITIAL
    assert "Creating" in history.primary
    assert set(history.primary) <= {INITIAL, "ReconcilingEndpoint", "Creating", "InService"}

    # generation-1 children, named and labelled as the real model/endpointconfig reconcilers do
    hex_ = uid_hex(created)
    model_cr = wait_children(sandbox, "models", "hosting-deployment", {f"xgboost-model-1-{hex_}"})
    [model_cr] = model_cr.values()
    config_cr = wait_children(
        sandbox, "endpointconfigs", "hosting-deployment", {f"hosting-deployment-1-{hex_}"}
    )
    [config_cr] = config_cr.values()
    for child in (model_cr, config_cr):
        assert child["metadata"]["labels"] == {
            "owner_HostingDeployment_namespace": "default",
            "owner_HostingDeployment_name": "hosting-deployment",
        }
        assert "ownerReferences" not in child["metadata"]
        assert child["metadata"]["finalizers"] == [FINALIZER]
        assert child["status"]["status"] == "Created"
        assert child["status"]["lastUpdateTime"].endswith("Z")
        assert "additional" not in child["status"]
    model_name = generated_name(model_cr["metadata"]["name"], model_cr["metadata"]["uid"])
    config_name = generated_name(config_cr["metadata"]["name"], config_cr["metadata"]["uid"])
    assert model_cr["spec"] == {
        "executionRoleArn": sandbox.info.execution_role_arn,
        "primaryContainer": created["spec"]["models"][0]["containers"][0],  # the only container
        "region": sandbox.info.region,
    }
    assert model_cr["status"]["sageMakerModelName"] == model_name
    assert model_cr["status"]["modelArn"].endswith(f":model/{model_name}")
    [variant] = config_cr["spec"]["productionVariants"]
    assert variant == {**created["spec"]["productionVariants"][0], "modelName": model_name}
    assert config_cr["status"]["sageMakerEndpointConfigName"] == config_name
    assert config_cr["status"]["endpointConfigArn"].endswith(f":endpoint-config/{config_name}")

    endpoint = f"hosting-deployment-{hex_}"  # generated; not written back into the spec
    assert "endpointName" not in get_cr(sandbox, HD, "hosting-deployment")["spec"]
    assert FINALIZER in get_cr(sandbox, HD, "hosting-deployment")["metadata"]["finalizers"]
    assert status["endpointName"] == endpoint
    assert status["endpointUrl"] == (
        f"https://runtime.sagemaker.{sandbox.info.region}.amazonaws.com/endpoints/{endpoint}/invocations"
    )
    assert status["endpointArn"].endswith(f"endpoint/{endpoint}")
    assert status["modelNames"] == [{"name": "xgboost-model", "value": model_name}]
    assert status["endpointConfigName"] == config_name
    for field in ("creationTime", "lastModifiedTime", "lastCheckTime"):
        assert status[field].endswith("Z"), field
    [summary] = status["productionVariants"]
    assert summary["variantName"] == "AllTraffic"
    assert summary["currentInstanceCount"] == summary["desiredInstanceCount"] == 1
    assert "failureReason" not in status and "additional" not in status

    served = live(sandbox, endpoint)
    assert (served["status"], served["config"], served["model"]) == ("InService", config_name, model_name)
    assert served["model_url"] == model_path
    assert aws(sandbox, "sagemaker").describe_model(ModelName=model_name)["ExecutionRoleArn"] == (
        sandbox.info.execution_role_arn
    )
    body, labels = test_rows
    predictions = invoke(sandbox, endpoint, body)
    assert len(predictions) == len(labels)
    assert sum(int(p) == y for p, y in zip(predictions, labels, strict=True)) / len(labels) >= 0.7

    delete_hd(sandbox, "hosting-deployment")
    assert history.deleted.wait(10)
    assert history.primary[-1] == "Deleting"
    wait_for(
        lambda: (
            not children(sandbox, "models", "hosting-deployment")
            and not children(sandbox, "endpointconfigs", "hosting-deployment")
        ),
        timeout=30,
        what="the child CRs to be deleted",
    )
    wait_sagemaker_gone(sandbox, endpoints=[endpoint], configs=[config_name], models=[model_name])


def test_endpoint_fault_shows_failure_reason_and_still_deletes(shared_sandbox):
    sandbox = shared_sandbox
    cr = hosting_cr(sandbox, "s3://nowhere/model.tar.gz", "doomed", fault="endpoint-fail:ping check failed")
    created = sandbox.kube.apply(cr)
    status = wait_status(sandbox, HD, "doomed", STATUS, ("InService", "Failed"))
    assert status[STATUS] == "Failed"
    assert status["failureReason"] == "ping check failed"
    assert status["endpointName"] == f"doomed-{uid_hex(created)}"
    assert "additional" not in status

    delete_hd(sandbox, "doomed")
    wait_for(
        lambda: (
            not children(sandbox, "models", "doomed") and not children(sandbox, "endpointconfigs", "doomed")
        ),
        timeout=30,
        what="the child CRs to be deleted",
    )
    wait_sagemaker_gone(
        sandbox,
        endpoints=[status["endpointName"]],
        configs=[status["endpointConfigName"]],
        models=[status["modelNames"][0]["value"]],
    )


def test_reconcile_error_fault_shows_in_additional(shared_sandbox):
    sandbox = shared_sandbox
    sandbox.kube.apply(
        hosting_cr(sandbox, "s3://nowhere/model.tar.gz", "unreachable", fault="reconcile-error:no API")
    )
    status = wait_status(sandbox, HD, "unreachable", STATUS, "ReconcilingEndpoint")
    assert status["additional"] == "Unable to describe SageMaker endpoint: no API"
    assert "endpointName" not in status
    assert FINALIZER in get_cr(sandbox, HD, "unreachable")["metadata"]["finalizers"]
    assert status_of(sandbox, HD, "unreachable")[STATUS] == "ReconcilingEndpoint"
    assert children(sandbox, "models", "unreachable") == {}  # DescribeEndpoint fails before any child


def test_published_hosting_sample_applied_with_kubectl_reaches_in_service(shared_sandbox, model_path):
    sandbox = shared_sandbox
    sample = yaml.safe_load((SAMPLES / "xgboost-mnist-hostingdeployment.yaml").read_text())
    sample["metadata"]["name"] = "sample-hd"
    sample["spec"]["region"] = sandbox.info.region
    sample["spec"]["models"][0]["executionRoleArn"] = sandbox.info.execution_role_arn
    sample["spec"]["models"][0]["containers"][0]["modelDataUrl"] = model_path
    assert "created" in kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(sample))

    status = wait_status(sandbox, HD, "sample-hd", STATUS, ("InService", "Failed"))
    assert status[STATUS] == "InService", status
    jsonpath = "jsonpath={.status.endpointStatus} {.status.endpointConfigName}"
    assert kubectl(sandbox, "get", "hostingdeployment", "sample-hd", "-o", jsonpath) == (
        f"InService {status['endpointConfigName']}"
    )
    listed = kubectl(sandbox, "get", "models,endpointconfigs", "-l", "owner_HostingDeployment_name=sample-hd")
    assert listed.count("Created") == 2, listed

    kubectl(sandbox, "delete", "hostingdeployment", "sample-hd")
    wait_gone(sandbox, HD, "sample-hd")
    wait_sagemaker_gone(sandbox, endpoints=[status["endpointName"]], configs=[status["endpointConfigName"]])


def test_standalone_model_sample_creates_and_deletes_the_sagemaker_model(shared_sandbox, model_path):
    sandbox = shared_sandbox
    text = (SAMPLES / "testfiles-xgboost-model.yaml").read_text()
    text = text.replace("{ROLE_ARN}", sandbox.info.execution_role_arn).replace("{DATA_BUCKET}", "unused")
    sample = yaml.safe_load(text)
    sample["spec"]["region"] = sandbox.info.region
    sample["spec"]["primaryContainer"]["modelDataUrl"] = model_path
    created = sandbox.kube.apply(sample)

    status = wait_status(sandbox, "models", "xgboost-model", "status", ("Created", "Error"), timeout=30)
    assert status["status"] == "Created", status
    name = generated_name("xgboost-model", created["metadata"]["uid"])
    assert status["sageMakerModelName"] == name
    described = aws(sandbox, "sagemaker").describe_model(ModelName=name)
    assert described["PrimaryContainer"]["ModelDataUrl"] == model_path
    assert "additional" not in status

    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", "models", "xgboost-model", namespace="default")
    wait_gone(sandbox, "models", "xgboost-model")
    wait_sagemaker_gone(sandbox, models=[name])
