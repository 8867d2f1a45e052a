"""The operator emulator's TrainingJob controller with a healthy operator (one sandbox for the module):
the legacy operator's state machine (notes A.2/A.3), SageMaker faults from annotations and armed rules,
and deletion through the finalizer. Broken operators: test_training_misconfigured.py."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.helpers import wait_for
from tests.sandbox.operator.operator_helpers import (
    FINALIZER,
    QUICK_HYPERPARAMETERS,
    StatusHistory,
    aws,
    get_cr,
    status_of,
    training_cr,
    wait_gone,
    wait_passes,
    wait_status,
)

TJ = "trainingjobs"
STATUS = "trainingJobStatus"
INITIAL = "SynchronizingK8sJobWithSageMaker"
RECONCILING = "ReconcilingTrainingJob"


def job_names(sandbox) -> set[str]:
    pages = aws(sandbox, "sagemaker").get_paginator("list_training_jobs").paginate()
    return {s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]}


def describe(sandbox, job: str) -> dict:
    return aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=job)


@pytest.fixture(scope="module")
def trained(shared_sandbox, shared_data):
    """The sample's TrainingJob (no spec.trainingJobName) run to a terminal state: (created CR, history)."""
    cr = training_cr(shared_sandbox, shared_data, hyperparameters=QUICK_HYPERPARAMETERS)
    created = shared_sandbox.kube.apply(cr)
    history = StatusHistory(shared_sandbox, TJ, created, STATUS, "secondaryStatus")
    wait_status(shared_sandbox, TJ, "xgboost-mnist", STATUS, ("Completed", "Failed", RECONCILING), timeout=90)
    return created, history


def test_job_trains_to_completed(shared_sandbox, shared_data, trained):
    sandbox, data = shared_sandbox, shared_data
    created, history = trained
    status = status_of(sandbox, TJ, "xgboost-mnist")
    assert status[STATUS] == "Completed", status
    wait_for(lambda: history.primary[-1:] == ["Completed"], timeout=10, what="the watch to see Completed")
    assert history.primary == [INITIAL, "InProgress", "Completed"]
    assert history.secondaries("InProgress") & {"Starting", "Downloading", "Training", "Uploading"}

    cr = get_cr(sandbox, TJ, "xgboost-mnist")
    job = "xgboost-mnist-" + created["metadata"]["uid"].replace("-", "")  # <name>-<uid without dashes>
    assert cr["spec"]["trainingJobName"] == job  # written back into the spec
    assert status["sageMakerTrainingJobName"] == job
    assert FINALIZER in cr["metadata"]["finalizers"]
    assert status["secondaryStatus"] == "Completed"
    assert status["additional"] == ""
    assert job in status["cloudWatchLogUrl"]

    model_path = f"{data}output/{job}/output/model.tar.gz"  # s3OutputPath + job + "/output/model.tar.gz"
    assert status["modelPath"] == model_path
    bucket, key = model_path.removeprefix("s3://").split("/", 1)
    assert aws(sandbox, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0

    described = describe(sandbox, job)
    assert described["TrainingJobStatus"] == "Completed"
    assert described["HyperParameters"]["num_round"] == QUICK_HYPERPARAMETERS["num_round"]
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert metrics["validation:merror"] < 0.2


def test_cr_naming_an_existing_job_only_tracks_it(shared_sandbox, shared_data, trained):
    sandbox = shared_sandbox
    job = get_cr(sandbox, TJ, "xgboost-mnist")["spec"]["trainingJobName"]
    before = job_names(sandbox)
    tracker = training_cr(sandbox, shared_data, "tracker", job_name=job)
    tracker["spec"]["outputDataConfig"]["s3OutputPath"] = f"{shared_data}elsewhere/"
    sandbox.kube.apply(tracker)
    status = wait_status(sandbox, TJ, "tracker", STATUS, ("Completed", "Failed", RECONCILING))
    assert status[STATUS] == "Completed", status
    assert status["sageMakerTrainingJobName"] == job
    # plain concatenation of the CR's own s3OutputPath: the operator ignores SageMaker's ModelArtifacts
    assert status["modelPath"] == f"{shared_data}elsewhere/{job}/output/model.tar.gz"
    wait_passes(sandbox, 2)
    assert job_names(sandbox) == before  # no new training job


@pytest.mark.parametrize(
    ("fault", "final", "secondary", "additional"),
    [
        ("fail:AlgorithmError: boom", "Failed", "Failed", "AlgorithmError: boom"),
        ("stop", "Stopped", "Stopped", ""),
    ],
)
def test_annotation_fault_ends_the_job(shared_sandbox, shared_data, fault, final, secondary, additional):
    sandbox, name = shared_sandbox, f"faulty-{final.lower()}"
    sandbox.kube.apply(training_cr(sandbox, shared_data, name, fault=fault))
    status = wait_status(sandbox, TJ, name, STATUS, ("Completed", "Failed", "Stopped"))
    assert (status[STATUS], status["secondaryStatus"], status["additional"]) == (final, secondary, additional)
    assert "modelPath" not in status
    described = describe(sandbox, status["sageMakerTrainingJobName"])
    assert described["TrainingJobStatus"] == final
    assert described.get("FailureReason", "") == additional


def test_reconcile_error_fault_never_reaches_sagemaker(shared_sandbox):
    sandbox = shared_sandbox
    created = sandbox.kube.apply(
        training_cr(sandbox, "s3://nowhere/x/", "unreachable", fault="reconcile-error:SageMaker is down")
    )
    status = wait_status(sandbox, TJ, "unreachable", STATUS, RECONCILING)
    assert "SageMaker is down" in status["additional"]
    assert status["secondaryStatus"] == ""
    job = "unreachable-" + created["metadata"]["uid"].replace("-", "")
    assert status["sageMakerTrainingJobName"] == job
    wait_passes(sandbox, 2)
    assert status_of(sandbox, TJ, "unreachable")[STATUS] == RECONCILING  # retried, never Failed
    assert job not in job_names(sandbox)


def test_armed_faults_match_by_name_and_kind(armed, shared_data):
    sandbox, data = armed, shared_data
    sandbox.arm_fault("stop", kind="TrainingJob", name="nightly-*")
    sandbox.arm_fault("fail:AlgorithmError: armed", kind="HostingDeployment")  # newer, other kind
    sandbox.kube.apply(training_cr(sandbox, data, "nightly-1"))
    status = wait_status(sandbox, TJ, "nightly-1", STATUS, ("Completed", "Failed", "Stopped"))
    assert status[STATUS] == "Stopped"

    sandbox.clear_faults()
    sandbox.arm_fault("fail:AlgorithmError: armed", kind="TrainingJob", namespace="default", name="nightly-*")
    sandbox.kube.apply(training_cr(sandbox, data, "nightly-2"))
    status = wait_status(sandbox, TJ, "nightly-2", STATUS, ("Completed", "Failed", "Stopped"))
    assert (status[STATUS], status["additional"]) == ("Failed", "AlgorithmError: armed")


def test_deleting_a_running_job_stops_it_then_releases_the_finalizer(shared_sandbox, shared_data):
    sandbox = shared_sandbox
    created = sandbox.kube.apply(training_cr(sandbox, shared_data, "stuck", fault="hang"))
    status = wait_for(
        lambda: (s := status_of(sandbox, TJ, "stuck")).get("secondaryStatus") == "Training" and s,
        timeout=60,
        what="the job to hang in Training",
    )
    job = status["sageMakerTrainingJobName"]
    wait_passes(sandbox, 3)
    assert status_of(sandbox, TJ, "stuck")[STATUS] == "InProgress"  # hang: stays InProgress
    assert describe(sandbox, job)["TrainingJobStatus"] == "InProgress"

    history = StatusHistory(sandbox, TJ, get_cr(sandbox, TJ, "stuck"), STATUS, "secondaryStatus")
    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", TJ, "stuck", namespace="default")
    wait_gone(sandbox, TJ, "stuck")
    assert describe(sandbox, job)["TrainingJobStatus"] in ("Stopping", "Stopped")
    wait_for(
        lambda: describe(sandbox, job)["TrainingJobStatus"] == "Stopped", timeout=30, what="SageMaker Stopped"
    )
    assert history.deleted.wait(10)
    transitions = [t["Status"] for t in describe(sandbox, job)["SecondaryStatusTransitions"]]
    assert transitions[-2:] == ["Stopping", "Stopped"]  # stopped by the operator, not failed or completed
    assert created["metadata"]["uid"].replace("-", "") in job


def test_rejected_create_is_retried_and_deletion_releases_the_finalizer(shared_sandbox):
    sandbox = shared_sandbox
    sandbox.kube.apply(training_cr(sandbox, "s3://nowhere/x/", "rejected", job_name="not_a_valid_name"))
    status = wait_status(sandbox, TJ, "rejected", STATUS, RECONCILING)
    assert "ValidationException" in status["additional"]
    assert FINALIZER in get_cr(sandbox, TJ, "rejected")["metadata"]["finalizers"]
    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", TJ, "rejected", namespace="default")
    wait_gone(sandbox, TJ, "rejected")  # no SageMaker job to stop: the finalizer goes at once
    with pytest.raises(ClientError):
        describe(sandbox, "not_a_valid_name")
