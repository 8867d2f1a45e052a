"""The ACK emulator's HyperParameterTuningJob (a real tuning run whose best job really is the best, no child
TrainingJob CRs, Stop on delete, failures in ``failureReason``) and TransformJob (a real batch transform:
one prediction per row; SageMaker's FailureReason copied; updates are Terminal)."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for
from tests.sandbox.ack.ack_helpers import (
    API_VERSION,
    HPO,
    MODELS,
    TJ,
    TRANSFORM,
    aws,
    condition,
    conditions,
    delete_cr,
    held_out_rows,
    local_predictions,
    model_cr,
    patch_cr,
    s3_objects,
    sample,
    training_cr,
    wait_condition,
    wait_field,
    wait_gone,
)

SYNCED, TERMINAL, READY = "ACK.ResourceSynced", "ACK.Terminal", "Ready"
DONE = ("Completed", "Failed", "Stopped")


def tuning_cr(sandbox, data: str, name: str, *, jobs: int = 3, fault: str | None = None) -> dict:
    """The e2e HPO sample's shape, tuning quick multi:softmax jobs on validation:merror."""
    cr = sample("xgboost_hpojob", sandbox, HPO_JOB_NAME=name)
    config = cr["spec"]["hyperParameterTuningJobConfig"]
    config["hyperParameterTuningJobObjective"] = {"type_": "Minimize", "metricName": "validation:merror"}
    config["resourceLimits"] = {"maxNumberOfTrainingJobs": jobs, "maxParallelTrainingJobs": 2}
    config["parameterRanges"]["integerParameterRanges"] = [
        {"name": "max_depth", "minValue": "1", "maxValue": "4", "scalingType": "Linear"}
    ]
    definition = cr["spec"]["trainingJobDefinition"]
    definition["staticHyperParameters"] = {"objective": "multi:softmax", "num_class": "10", "num_round": "3"}
    definition["outputDataConfig"]["s3OutputPath"] = f"{data}tuning/{name}"
    for channel in definition["inputDataConfig"]:
        channel["dataSource"]["s3DataSource"]["s3URI"] = f"{data}{channel['channelName']}"
    if fault:
        cr["metadata"]["annotations"] = {"sandbox.sagemaker.local/fault": fault}
    return cr


def children(sandbox, name: str) -> list[dict]:
    return aws(sandbox, "sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]


@pytest.fixture(scope="module")
def tuned(shared_sandbox, data) -> dict:
    shared_sandbox.kube.apply(tuning_cr(shared_sandbox, data, "ack-hpo"))
    return wait_field(shared_sandbox, HPO, "ack-hpo", "hyperParameterTuningJobStatus", DONE, timeout=90)


def test_tuning_job_reports_its_really_best_training_job(shared_sandbox, tuned):
    sandbox, status = shared_sandbox, tuned
    assert status["hyperParameterTuningJobStatus"] == "Completed", status
    assert condition(status, SYNCED) == ("True", "HyperParameterTuningJob is in Completed status.")
    assert condition(status, READY)[0] == "True"
    jobs = children(sandbox, "ack-hpo")
    assert len(jobs) == 3 and all(j["TrainingJobStatus"] == "Completed" for j in jobs)
    scores = {j["TrainingJobName"]: j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for j in jobs}
    best = status["bestTrainingJob"]
    assert best["trainingJobName"] == min(scores, key=scores.get)
    metric = best["finalHyperParameterTuningJobObjectiveMetric"]
    assert (metric["metricName"], metric["type_"]) == ("validation:merror", "Minimize")
    assert metric["value"] == pytest.approx(min(scores.values()))
    assert best["trainingJobStatus"] == "Completed" and best["objectiveStatus"] == "Succeeded"
    assert set(best["tunedHyperParameters"]) == {"max_depth"}
    assert status["ackResourceMetadata"]["arn"].endswith(":hyper-parameter-tuning-job/ack-hpo")
    artifact = aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=best["trainingJobName"])
    assert artifact["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
    crs = sandbox.kube.list_objects(API_VERSION, TJ, namespace="default")
    assert not {c["metadata"]["name"] for c in crs} & set(scores)  # ACK spawns no child TrainingJob CRs


def test_tuning_job_spec_change_is_terminal(shared_sandbox, tuned):
    sandbox = shared_sandbox
    patch_cr(sandbox, HPO, "ack-hpo", {"spec": {"hyperParameterTuningJobConfig": {"strategy": "Random"}}})
    status = wait_condition(sandbox, HPO, "ack-hpo", TERMINAL)
    assert condition(status, TERMINAL) == ("True", "not implemented")
    assert condition(status, SYNCED) == ("True", "HyperParameterTuningJob is in Completed status.")
    assert conditions(status)[READY]["reason"] == TERMINAL


def test_tuning_job_whose_children_fail_is_failed_with_the_reason(shared_sandbox, data):
    sandbox = shared_sandbox
    sandbox.kube.apply(
        tuning_cr(sandbox, data, "ack-hpo-fails", jobs=2, fault="fail:AlgorithmError: bad data")
    )
    status = wait_field(sandbox, HPO, "ack-hpo-fails", "hyperParameterTuningJobStatus", DONE, timeout=60)
    assert status["hyperParameterTuningJobStatus"] == "Failed"
    assert status["failureReason"].startswith("No training job succeeded after 2 attempts.")
    assert condition(status, SYNCED) == ("True", "HyperParameterTuningJob is in Failed status.")
    assert TERMINAL not in conditions(status)
    assert {j["FailureReason"] for j in children(sandbox, "ack-hpo-fails")} == {"AlgorithmError: bad data"}


def test_deleting_an_in_progress_tuning_job_stops_it(shared_sandbox, data):
    sandbox, sm = shared_sandbox, aws(shared_sandbox, "sagemaker")
    sandbox.kube.apply(tuning_cr(sandbox, data, "ack-hpo-stop", jobs=2, fault="hang"))
    status = wait_field(sandbox, HPO, "ack-hpo-stop", "hyperParameterTuningJobStatus", "InProgress")
    assert condition(status, SYNCED) == ("False", "HyperParameterTuningJob is in InProgress status.")
    wait_for(lambda: children(sandbox, "ack-hpo-stop"), timeout=30, what="a training job")
    delete_cr(sandbox, HPO, "ack-hpo-stop")
    wait_gone(sandbox, HPO, "ack-hpo-stop")
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="ack-hpo-stop")
    assert described["HyperParameterTuningJobStatus"] == "Stopped"  # the CR went once it stopped


# -- batch transform ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model(shared_sandbox, data) -> tuple[str, str]:
    """A trained model behind a Model CR: (SageMaker model name, model.tar.gz URL)."""
    sandbox = shared_sandbox
    sandbox.kube.apply(training_cr(sandbox, data, "ack-batch-train"))
    artifact = wait_field(sandbox, TJ, "ack-batch-train", "trainingJobStatus", "Completed")["modelArtifacts"][
        "s3ModelArtifacts"
    ]
    sandbox.kube.apply(model_cr(sandbox, "ack-batch-model", artifact))
    wait_condition(sandbox, MODELS, "ack-batch-model", SYNCED)
    return "ack-batch-model", artifact


def transform_cr(sandbox, data: str, name: str, model: str, *, fault: str | None = None) -> dict:
    cr = sample("xgboost_transformjob", sandbox, TRANSFORM_JOB_NAME=name, MODEL_NAME=model)
    cr["spec"]["transformInput"]["dataSource"]["s3DataSource"]["s3URI"] = f"{data}batch/{name}/input"
    cr["spec"]["transformOutput"]["s3OutputPath"] = f"{data}batch/{name}/output"
    if fault:
        cr["metadata"]["annotations"] = {"sandbox.sagemaker.local/fault": fault}
    return cr


def put_input(sandbox, data: str, name: str, body: bytes) -> None:
    bucket, prefix = data.removeprefix("s3://").split("/", 1)
    aws(sandbox, "s3").put_object(Bucket=bucket, Key=f"{prefix}batch/{name}/input/rows.csv", Body=body)


def test_transform_writes_one_prediction_per_row(shared_sandbox, data, model):
    sandbox, (model_name, artifact) = shared_sandbox, model
    body, digits = held_out_rows(25)
    put_input(sandbox, data, "ack-transform", body)
    sandbox.kube.apply(transform_cr(sandbox, data, "ack-transform", model_name))
    status = wait_field(sandbox, TRANSFORM, "ack-transform", "transformJobStatus", DONE)
    assert status["transformJobStatus"] == "Completed", status
    assert condition(status, SYNCED) == ("True", "TransformJob is in Completed status.")
    assert status["ackResourceMetadata"]["arn"].endswith(":transform-job/ack-transform")
    [(key, out)] = s3_objects(sandbox, f"{data}batch/ack-transform/output").items()
    assert key.endswith("/output/rows.csv.out")
    predictions = [float(v) for v in out.decode().split()]
    assert len(predictions) == len(digits)
    assert predictions == local_predictions(sandbox, artifact, body)


def test_failed_transform_copies_the_failure_reason(shared_sandbox, data, model):
    sandbox = shared_sandbox
    put_input(sandbox, data, "ack-transform-fails", held_out_rows(5)[0])
    cr = transform_cr(sandbox, data, "ack-transform-fails", model[0], fault="fail:ClientError: bad row 3")
    sandbox.kube.apply(cr)
    status = wait_field(sandbox, TRANSFORM, "ack-transform-fails", "transformJobStatus", DONE)
    assert (status["transformJobStatus"], status["failureReason"]) == ("Failed", "ClientError: bad row 3")
    assert condition(status, SYNCED) == ("True", "TransformJob is in Failed status.")
    patch_cr(
        sandbox, TRANSFORM, "ack-transform-fails", {"spec": {"transformResources": {"instanceCount": 2}}}
    )
    status = wait_condition(sandbox, TRANSFORM, "ack-transform-fails", TERMINAL)
    assert condition(status, TERMINAL) == ("True", "not implemented")


def test_deleting_an_in_progress_transform_stops_it(shared_sandbox, data, model):
    sandbox = shared_sandbox
    put_input(sandbox, data, "ack-transform-stop", held_out_rows(5)[0])
    sandbox.kube.apply(transform_cr(sandbox, data, "ack-transform-stop", model[0], fault="hang"))
    wait_field(sandbox, TRANSFORM, "ack-transform-stop", "transformJobStatus", "InProgress")
    delete_cr(sandbox, TRANSFORM, "ack-transform-stop")
    wait_gone(sandbox, TRANSFORM, "ack-transform-stop")
    described = aws(sandbox, "sagemaker").describe_transform_job(TransformJobName="ack-transform-stop")
    assert described["TransformJobStatus"] == "Stopped"
