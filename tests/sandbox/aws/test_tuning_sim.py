"""Hyperparameter tuning in the SageMaker simulator, against the real moto HTTP server: children that really
train, the parallel and total limits, counters, the best job, ListTrainingJobsForHyperParameterTuningJob,
StopHyperParameterTuningJob, a tuning job that fails because no child succeeded, and SageMaker's errors."""

from __future__ import annotations

import copy
import re

import pytest
from botocore.exceptions import ClientError

from sandbox.aws import seed_account

from .conftest import REGION, client, sim_threads, to_csv, wait_for

TERMINAL = ("Completed", "Failed", "Stopped")
STATIC = {"objective": "multi:softmax", "num_class": "10", "num_round": "3", "max_bin": "16"}
RANGES = {
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "1", "MaxValue": "4", "ScalingType": "Linear"}
    ],
    "ContinuousParameterRanges": [
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.99", "ScalingType": "ReverseLogarithmic"}
    ],
    "CategoricalParameterRanges": [{"Name": "grow_policy", "Values": ["depthwise", "lossguide"]}],
}


@pytest.fixture(scope="module")
def env(moto, mnist):
    seed = seed_account(moto.url, region=REGION)
    s3 = client(moto.url, "s3")
    for split, rows in (("train", slice(0, 400)), ("validation", slice(0, 150))):
        X, y = mnist[split]
        s3.put_object(Bucket=seed.bucket, Key=f"tune/{split}/examples", Body=to_csv(X[rows], y[rows]))
    saved, moto.simulator.phase_delay = moto.simulator.phase_delay, 0.05
    yield {"seed": seed, "sim": moto.simulator, "sm": client(moto.url, "sagemaker")}
    moto.simulator.phase_delay = saved


@pytest.fixture(autouse=True)
def isolate(request):
    yield
    if "env" in request.fixturenames:
        env = request.getfixturevalue("env")
        env["sim"].faults.clear()
        assert env["sim"].wait_idle(timeout=20), env["sim"].running()
        assert sim_threads() == []


def tuning_request(
    env, name: str, *, jobs=4, parallel=2, strategy="Random", metric="validation:merror", kind="Minimize"
):
    bucket = env["seed"].bucket
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": kind, "MetricName": metric},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": copy.deepcopy(RANGES),
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": STATIC,
            "AlgorithmSpecification": {"TrainingImage": "xgboost:1", "TrainingInputMode": "File"},
            "RoleArn": env["seed"].execution_role_arn,
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/tune/{channel}/"}
                    },
                    "ContentType": "text/csv",
                }
                for channel in ("train", "validation")
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/tune/output"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def describe(env, name: str) -> dict:
    return env["sm"].describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


def wait_tuning(env, name: str, timeout: float = 60.0):
    """(final description, every distinct (status, completed, in progress) seen)."""

    def fetch():
        d = describe(env, name)
        counters = d["TrainingJobStatusCounters"]
        return d["HyperParameterTuningJobStatus"], counters["Completed"], counters["InProgress"]

    _, seen = wait_for(fetch, lambda s: s[0] in TERMINAL, timeout)
    return describe(env, name), seen


def children(env, name: str, **kwargs) -> list[dict]:
    return env["sm"].list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, **kwargs
    )["TrainingJobSummaries"]


def test_tuning_job_trains_children_within_its_limits_and_reports_the_best(env):
    sm = env["sm"]
    sm.create_hyper_parameter_tuning_job(
        **tuning_request(env, "tune-random", jobs=3, parallel=2, kind="Maximize")
    )
    described, seen = wait_tuning(env, "tune-random")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert seen[0][0] == "InProgress" and max(s[2] for s in seen) <= 2
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 3, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0,
    }  # fmt: skip
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 0}
    assert "FailureReason" not in described and described["HyperParameterTuningEndTime"]

    summaries = children(env, "tune-random")
    names = [s["TrainingJobName"] for s in summaries]
    assert names == sorted(names) and len(names) == 3  # SortBy Name, Ascending by default
    assert all(re.fullmatch(r"tune-random-00[1-3]-[0-9a-f]{8}", n) for n in names)
    values = {
        s["TrainingJobName"]: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries
    }
    best = described["BestTrainingJob"]
    assert values[best["TrainingJobName"]] == max(values.values())  # Maximize
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:merror"
    for summary in summaries:
        assert summary["TuningJobName"] == "tune-random" and summary["ObjectiveStatus"] == "Succeeded"
        tuned = summary["TunedHyperParameters"]
        assert set(tuned) == {"max_depth", "subsample", "grow_policy"}
        job = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert job["HyperParameters"] == {**STATIC, **tuned, "_tuning_objective_metric": "validation:merror"}
        assert job["TuningJobArn"] == described["HyperParameterTuningJobArn"]
        metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
        assert metrics["validation:merror"] == values[summary["TrainingJobName"]]

    page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-random", MaxResults=2
    )
    rest = children(env, "tune-random", NextToken=page["NextToken"], MaxResults=2)
    assert [s["TrainingJobName"] for s in page["TrainingJobSummaries"] + rest] == names
    by_value = children(env, "tune-random", SortBy="FinalObjectiveMetricValue", SortOrder="Descending")
    assert [s["TrainingJobName"] for s in by_value] == sorted(values, key=values.get, reverse=True)
    assert children(env, "tune-random", StatusEquals="Failed") == []
    assert any(s["TrainingJobName"] in names for s in sm.list_training_jobs()["TrainingJobSummaries"])


def test_stop_stops_every_running_child(env):
    sm, sim = env["sm"], env["sim"]
    sim.faults.hang("tune-stopped-*")
    sm.create_hyper_parameter_tuning_job(**tuning_request(env, "tune-stopped", jobs=5, parallel=2))
    wait_for(
        lambda: [c["TrainingJobName"] for c in children(env, "tune-stopped")],
        lambda names: (
            len(names) == 2
            and all(
                sm.describe_training_job(TrainingJobName=n)["SecondaryStatus"] == "Training" for n in names
            )
        ),
        timeout=30,
    )
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stopped")
    described, seen = wait_tuning(env, "tune-stopped")
    assert [s[0] for s in seen][:1] == ["Stopping"] and described[
        "HyperParameterTuningJobStatus"
    ] == "Stopped"
    assert described["TrainingJobStatusCounters"]["Stopped"] == 2
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 0, "Pending": 0, "Failed": 2}
    assert {c["TrainingJobStatus"] for c in children(env, "tune-stopped")} == {"Stopped"}
    assert "BestTrainingJob" not in described
    with pytest.raises(ClientError, match="ValidationException"):
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stopped")


def test_tuning_job_fails_when_no_child_reports_the_objective(env):
    sm = env["sm"]
    request = tuning_request(
        env, "tune-no-metric", jobs=2, parallel=2, strategy="Bayesian", metric="validation:nope"
    )
    sm.create_hyper_parameter_tuning_job(**request)  # XGBoost has no such metric: every child fails
    described, _ = wait_tuning(env, "tune-no-metric")
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        "No training job succeeded after 2 attempts. Please take a look at the training job failures to get "
        "more details."
    )
    assert described["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    for summary in children(env, "tune-no-metric"):
        assert summary["TrainingJobStatus"] == "Failed" and summary["ObjectiveStatus"] == "Failed"
        assert summary["FailureReason"].startswith("AlgorithmError:")


def test_sagemaker_errors(env):
    sm = env["sm"]
    with pytest.raises(ClientError) as missing:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nothing")
    assert missing.value.response["Error"] == {
        "Code": "ResourceNotFound",
        "Message": "Amazon SageMaker can't find a tuning job with name nothing",
    }
    for call in (sm.stop_hyper_parameter_tuning_job, sm.list_training_jobs_for_hyper_parameter_tuning_job):
        with pytest.raises(ClientError, match="ResourceNotFound"):
            call(HyperParameterTuningJobName="nothing")

    def refused(name: str, change) -> str:
        request = tuning_request(env, name)
        change(request["HyperParameterTuningJobConfig"])
        with pytest.raises(ClientError) as error:
            sm.create_hyper_parameter_tuning_job(**request)
        assert error.value.response["Error"]["Code"] == "ValidationException"
        return error.value.response["Error"]["Message"]

    assert "regular expression" in refused("x" * 33, lambda c: None)
    assert "greater than its MaxValue" in refused(
        "bad-range", lambda c: c["ParameterRanges"]["IntegerParameterRanges"][0].update(MinValue="9")
    )
    assert "not supported by the SageMaker simulator" in refused("grid", lambda c: c.update(Strategy="Grid"))
    assert "HyperParameterTuningJobObjective" in refused(
        "no-objective", lambda c: c.pop("HyperParameterTuningJobObjective")
    )
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="bad-range")  # nothing was created

    request = tuning_request(env, "tune-twice", jobs=1, parallel=1)
    sm.create_hyper_parameter_tuning_job(**request)
    with pytest.raises(ClientError, match="ResourceInUse"):
        sm.create_hyper_parameter_tuning_job(**request)
    assert wait_tuning(env, "tune-twice")[0]["HyperParameterTuningJobStatus"] == "Completed"
