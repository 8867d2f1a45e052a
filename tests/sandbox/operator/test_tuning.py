"""The operator emulator's HyperparameterTuningJob controller (notes A.2, A.4), one sandbox for the module:
a tuning job really trains its children two at a time and reports the best one, each child gets a TrainingJob
CR with the extra finalizer, deleting the tuning CR mid-run stops every child and removes the child CRs, a
tuning job whose children all fail ends Failed with SageMaker's reason, and the published sample works
with kubectl."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from botocore.exceptions import ClientError

from tests.helpers import wait_for
from tests.sandbox.operator.operator_helpers import (
    FAULT_ANNOTATION,
    FINALIZER,
    ROOT,
    StatusHistory,
    aws,
    get_cr,
    wait_gone,
    wait_passes,
    wait_status,
)
from tests.sandbox.operator.operator_jobs_helpers import (
    HPO,
    HPO_FINALIZER,
    INITIAL,
    child_crs,
    hpo_sample,
    kubectl,
    most_at_once,
    sagemaker_children,
    tuning_cr,
    upload_subset,
)

STATUS = "hyperParameterTuningJobStatus"
TERMINAL = ("Completed", "Failed", "Stopped", "ReconcilingTuningJob")


def uid_hex(obj: dict) -> str:
    return obj["metadata"]["uid"].replace("-", "")


def describe(sandbox, job: str) -> dict:
    return aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=job)


def objective(described: dict, metric: str) -> float:
    return {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}[metric]


@pytest.fixture(scope="module")
def tuned(shared_sandbox, shared_data):
    """A 4-job tuning job, 2 in parallel, run to its end: (created CR, status history)."""
    created = shared_sandbox.kube.apply(tuning_cr(shared_sandbox, shared_data, "tune-four"))
    history = StatusHistory(shared_sandbox, HPO, created, STATUS)
    wait_status(shared_sandbox, HPO, "tune-four", STATUS, TERMINAL, timeout=90)
    return created, history


def test_tuning_job_trains_every_child_and_reports_the_best(shared_sandbox, shared_data, tuned):
    sandbox, (created, history) = shared_sandbox, tuned
    cr = get_cr(sandbox, HPO, "tune-four")
    status = cr["status"]
    assert status[STATUS] == "Completed", status
    name = uid_hex(created)  # 32 characters: no room for the CR's name
    assert cr["spec"]["hyperParameterTuningJobName"] == status["sageMakerHyperParameterTuningJobName"] == name
    assert cr["metadata"]["finalizers"] == [FINALIZER]
    assert "additional" not in status
    wait_for(lambda: history.primary[-1:] == ["Completed"], timeout=10, what="the watch to see Completed")
    assert history.primary == [INITIAL, "InProgress", "Completed"]
    assert status["trainingJobStatusCounters"] == {
        "completed": 4, "inProgress": 0, "nonRetryableError": 0, "retryableError": 0, "stopped": 0,
        "totalError": 0,
    }  # fmt: skip

    summaries = sagemaker_children(sandbox, name)
    assert len(summaries) == 4
    assert all(re.fullmatch(rf"{name}-00[1-4]-[0-9a-f]{{8}}", s["TrainingJobName"]) for s in summaries)
    described = [describe(sandbox, s["TrainingJobName"]) for s in summaries]
    assert most_at_once(described) == 2  # MaxParallelTrainingJobs, and the tuning job used it
    scores = {d["TrainingJobName"]: objective(d, "validation:merror") for d in described}
    for d in described:
        assert d["TuningJobArn"].endswith(f":hyper-parameter-tuning-job/{name}")
        assert d["HyperParameters"]["_tuning_objective_metric"] == "validation:merror"
        assert 2 <= int(d["HyperParameters"]["max_depth"]) <= 5
        assert 0.1 <= float(d["HyperParameters"]["eta"]) <= 0.5

    best = status["bestTrainingJob"]
    assert scores[best["trainingJobName"]] == min(scores.values())
    assert best["trainingJobStatus"] == "Completed" and best["objectiveStatus"] == "Succeeded"
    assert best["tuningJobName"] == name
    # SageMaker's value is a number, the CRD's a string: the operator's JSON round trip drops it
    assert best["finalHyperParameterTuningJobObjectiveMetric"] == {
        "metricName": "validation:merror",
        "type": "Minimize",
    }
    best_hp = describe(sandbox, best["trainingJobName"])["HyperParameters"]
    assert best["tunedHyperParameters"] == [
        {"name": "eta", "value": best_hp["eta"]},
        {"name": "max_depth", "value": best_hp["max_depth"]},
    ]
    described_tuning = aws(sandbox, "sagemaker").describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name
    )
    assert described_tuning["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == min(
        scores.values()
    )
    output = cr["spec"]["trainingJobDefinition"]["outputDataConfig"]["s3OutputPath"]
    bucket, key = f"{output}/{best['trainingJobName']}/output/model.tar.gz".removeprefix("s3://").split(
        "/", 1
    )
    assert aws(sandbox, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0


def test_each_child_gets_a_training_job_cr_with_the_hpo_finalizer(shared_sandbox, tuned):
    sandbox, (created, _) = shared_sandbox, tuned
    names = {s["TrainingJobName"] for s in sagemaker_children(sandbox, uid_hex(created))}
    crs = wait_for(
        lambda: (found := child_crs(sandbox, names)) and len(found) == 4
        and all((o.get("status") or {}).get("trainingJobStatus") == "Completed" for o in found.values())
        and found,
        timeout=30,
        what="4 child TrainingJob CRs, Completed",
    )  # fmt: skip
    for child_name, child in crs.items():
        assert child["metadata"]["finalizers"] == [HPO_FINALIZER, FINALIZER]
        assert "ownerReferences" not in child["metadata"] and "labels" not in child["metadata"]
        spec = child["spec"]
        assert spec["trainingJobName"] == child_name  # tracks the tuning job's training job
        assert spec["region"] == sandbox.info.region
        hyperparameters = {hp["name"]: hp["value"] for hp in spec["hyperParameters"]}
        assert hyperparameters == describe(sandbox, child_name)["HyperParameters"]
        assert child["status"]["sageMakerTrainingJobName"] == child_name
        # s3OutputPath has no trailing slash (as in the sample): the operator's concatenation shows it
        output = spec["outputDataConfig"]["s3OutputPath"]
        assert child["status"]["modelPath"] == f"{output}{child_name}/output/model.tar.gz"


def test_deleting_the_tuning_cr_mid_run_stops_every_child_and_removes_the_child_crs(
    shared_sandbox, shared_data
):
    sandbox = shared_sandbox
    created = sandbox.kube.apply(tuning_cr(sandbox, shared_data, "tune-deleted", fault="hang"))
    name = uid_hex(created)

    def two_children_training() -> bool:
        try:
            names = {s["TrainingJobName"] for s in sagemaker_children(sandbox, name)}
        except ClientError:  # the operator has not created the tuning job yet
            return False
        training = [describe(sandbox, n)["SecondaryStatus"] == "Training" for n in names]
        return len(training) == 2 and all(training) and len(child_crs(sandbox, names)) == 2

    wait_for(two_children_training, timeout=60, what="two children hanging in Training, with their CRs")
    history = StatusHistory(sandbox, HPO, get_cr(sandbox, HPO, "tune-deleted"), STATUS)
    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", HPO, "tune-deleted", namespace="default")
    wait_gone(sandbox, HPO, "tune-deleted")
    assert history.deleted.wait(10)
    # Stopping until SageMaker stopped it; then the children and the finalizer go without another write
    assert history.primary == ["InProgress", "Stopping"]

    sm = aws(sandbox, "sagemaker")
    tuning = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert tuning["HyperParameterTuningJobStatus"] == "Stopped"
    assert tuning["TrainingJobStatusCounters"]["Stopped"] == 2
    names = {s["TrainingJobName"] for s in sagemaker_children(sandbox, name)}
    assert len(names) == 2  # no child started after the stop
    for child in names:
        assert describe(sandbox, child)["TrainingJobStatus"] == "Stopped"
    wait_for(lambda: not child_crs(sandbox, names), timeout=30, what="the child CRs to be deleted")


def test_children_that_all_fail_end_the_tuning_job_failed_with_the_reason(armed, shared_data):
    sandbox = armed
    fault = ["fault", "fail:AlgorithmError: armed", "--kind", "HyperparameterTuningJob", "--name", "doomed-*"]
    cli = [sys.executable, "-m", "sandbox", "--state-dir", str(sandbox.state_dir), *fault]
    armed_by_cli = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert armed_by_cli.returncode == 0, armed_by_cli.stderr
    created = sandbox.kube.apply(tuning_cr(sandbox, shared_data, "doomed-tuning", max_jobs=2))
    status = wait_status(sandbox, HPO, "doomed-tuning", STATUS, TERMINAL, timeout=60)
    assert status[STATUS] == "Failed", status
    assert status["additional"] == (
        "No training job succeeded after 2 attempts. Please take a look at the training job failures to get "
        "more details."
    )
    counters = status["trainingJobStatusCounters"]
    assert (counters["completed"], counters["nonRetryableError"], counters["totalError"]) == (0, 2, 2)
    assert "bestTrainingJob" not in status
    names = {s["TrainingJobName"] for s in sagemaker_children(sandbox, uid_hex(created))}
    crs = wait_for(
        lambda: (found := child_crs(sandbox, names)) and len(found) == 2
        and all((o.get("status") or {}).get("trainingJobStatus") == "Failed" for o in found.values())
        and found,
        timeout=30,
        what="2 child TrainingJob CRs, Failed",
    )  # fmt: skip
    for child in crs.values():
        assert child["status"]["additional"] == "AlgorithmError: armed"


def test_reconcile_error_fault_shows_in_additional(shared_sandbox, shared_data):
    sandbox = shared_sandbox
    sandbox.kube.apply(tuning_cr(sandbox, shared_data, "unreachable", fault="reconcile-error:no API"))
    status = wait_status(sandbox, HPO, "unreachable", STATUS, "ReconcilingTuningJob")
    assert status["additional"] == "Unable to describe SageMaker hyperparameter tuning job: no API"
    assert (
        "sageMakerHyperParameterTuningJobName" in status
        and FINALIZER in get_cr(sandbox, HPO, "unreachable")["metadata"]["finalizers"]
    )
    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", HPO, "unreachable", namespace="default")
    wait_passes(sandbox, 2)
    assert get_cr(sandbox, HPO, "unreachable")["metadata"]["deletionTimestamp"]  # held: SageMaker unreachable
    cr = get_cr(sandbox, HPO, "unreachable")
    del cr["metadata"]["annotations"][FAULT_ANNOTATION]  # reachable again: no job was ever created
    sandbox.kube.apply(cr)
    wait_gone(sandbox, HPO, "unreachable")


def test_published_hpo_sample_applied_with_kubectl_completes(shared_sandbox):
    """The sample as published (10 jobs, 5 in parallel, reg:linear, num_round 10-20), on 300 of the
    bundled sample's 3500 training rows so that its ten trainings take seconds."""
    sandbox = shared_sandbox
    sample = hpo_sample(sandbox, upload_subset(sandbox, "hpo-sample", 300, 100))
    assert "created" in kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(sample))
    status = wait_status(sandbox, HPO, "xgboost-mnist-hpo", STATUS, TERMINAL, timeout=120)
    assert status[STATUS] == "Completed", status
    assert status["trainingJobStatusCounters"]["completed"] == 10
    name = status["sageMakerHyperParameterTuningJobName"]
    described = [describe(sandbox, s["TrainingJobName"]) for s in sagemaker_children(sandbox, name)]
    assert len(described) == 10 and most_at_once(described) <= 5
    # reg:linear with the objective validation:error: XGBoost reports its binary error formula on 0-9 labels
    scores = {d["TrainingJobName"]: objective(d, "validation:error") for d in described}
    assert scores[status["bestTrainingJob"]["trainingJobName"]] == min(scores.values())
    assert {int(d["HyperParameters"]["num_round"]) for d in described} <= set(range(10, 21))
    row = kubectl(sandbox, "get", "hyperparametertuningjob", "xgboost-mnist-hpo", "--no-headers").split()
    assert row[0] == "xgboost-mnist-hpo" and row[1] == "Completed"
    assert row[-2:] == [status["bestTrainingJob"]["trainingJobName"], name]
    kubectl(sandbox, "delete", "hyperparametertuningjob", "xgboost-mnist-hpo")
    wait_gone(sandbox, HPO, "xgboost-mnist-hpo")
    names = {d["TrainingJobName"] for d in described}
    wait_for(lambda: not child_crs(sandbox, names), timeout=30, what="the sample's child CRs to be deleted")
