"""Reading SageMaker's tuning answers (pure): DescribeHyperParameterTuningJob and its training jobs."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sagemaker_k8s.exceptions import SageMakerApiError, SageMakerJobNotFound, sagemaker_error
from sagemaker_k8s.manifests.tuning_results import counters, training_jobs, tuning_result

OBJECTIVE = {"Type": "Minimize", "MetricName": "validation:merror"}
DESCRIBED = {
    "HyperParameterTuningJobName": "submit-tuning-20261206t-f21273a1",
    "HyperParameterTuningJobStatus": "Completed",
    "HyperParameterTuningJobConfig": {"Strategy": "Bayesian", "HyperParameterTuningJobObjective": OBJECTIVE},
    "TrainingJobStatusCounters": {
        "Completed": 3, "InProgress": 0, "RetryableError": 1, "NonRetryableError": 0, "Stopped": 0,
    },
    "BestTrainingJob": {
        "TrainingJobName": "submit-tuning-20261206t-f21273a1-002-89abcdef",
        "TrainingJobStatus": "Completed",
        "CreationTime": dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
        "TunedHyperParameters": {"eta": "0.31", "max_depth": "6"},
        "FinalHyperParameterTuningJobObjectiveMetric": {**OBJECTIVE, "Value": 0.125},
    },
}  # fmt: skip


def test_completed_tuning_job():
    assert tuning_result(DESCRIBED) == {
        "name": "submit-tuning-20261206t-f21273a1",
        "status": "Completed",
        "failure_reason": None,
        "best_training_job": "submit-tuning-20261206t-f21273a1-002-89abcdef",
        "objective": {"name": "validation:merror", "type": "Minimize", "value": 0.125},
        "hyperparameters": {"eta": "0.31", "max_depth": "6"},
        "counters": {
            "completed": 3, "in_progress": 0, "retryable_error": 1, "non_retryable_error": 0, "stopped": 0,
            "total_error": 1,
        },
    }  # fmt: skip


def test_no_best_job_yet_falls_back_to_the_configured_objective():
    described = {k: v for k, v in DESCRIBED.items() if k != "BestTrainingJob"}
    described |= {"HyperParameterTuningJobStatus": "Failed", "FailureReason": "No training job succeeded"}
    result = tuning_result(described)
    assert result["best_training_job"] is None and result["hyperparameters"] == {}
    assert result["objective"] == {"name": "validation:merror", "type": "Minimize", "value": None}
    assert (result["status"], result["failure_reason"]) == ("Failed", "No training job succeeded")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, 0.0), (1, 1.0), ("0.25", 0.25), (None, None), ("n/a", None), (float("nan"), None), (True, None)],
)
def test_objective_value_is_a_finite_float_or_none(value, expected):
    best = {**DESCRIBED["BestTrainingJob"], "FinalHyperParameterTuningJobObjectiveMetric": {"Value": value}}
    assert tuning_result({**DESCRIBED, "BestTrainingJob": best})["objective"]["value"] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None,
         {"completed": 0, "in_progress": 0, "retryable_error": 0, "non_retryable_error": 0, "stopped": 0}),
        ({"Completed": 2, "NonRetryableError": 2, "RetryableError": "x", "Stopped": -1},
         {"completed": 2, "in_progress": 0, "retryable_error": 0, "non_retryable_error": 2, "stopped": 0}),
    ],
)  # fmt: skip
def test_counters_are_robust(raw, expected):
    out = counters(raw)
    assert out == {**expected, "total_error": expected["retryable_error"] + expected["non_retryable_error"]}


def test_training_jobs():
    summaries = [
        {"TrainingJobName": "t-001-a", "TrainingJobStatus": "Completed",
         "FinalHyperParameterTuningJobObjectiveMetric": {**OBJECTIVE, "Value": 0.2}},
        {"TrainingJobName": "t-002-b", "TrainingJobStatus": "Failed"},
        {"TrainingJobName": "t-003-c", "TrainingJobStatus": "InProgress"},
    ]  # fmt: skip
    assert training_jobs(summaries) == [
        {"name": "t-001-a", "status": "Completed", "objective_value": 0.2},
        {"name": "t-002-b", "status": "Failed", "objective_value": None},
        {"name": "t-003-c", "status": "InProgress", "objective_value": None},
    ]
    assert training_jobs([]) == []


# -- the typed errors the hook raises ---------------------------------------------------------------


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "DescribeHyperParameterTuningJob")


def test_a_missing_tuning_job_fails_at_once():
    error = sagemaker_error(
        client_error("ResourceNotFound", "Amazon SageMaker can't find a tuning job with name t"),
        operation="DescribeHyperParameterTuningJob",
        job_name="t",
    )
    assert isinstance(error, SageMakerJobNotFound)
    assert str(error) == (
        "SageMaker DescribeHyperParameterTuningJob of t failed: ResourceNotFound: "
        "Amazon SageMaker can't find a tuning job with name t"
    )
    assert (error.operation, error.job_name, error.code) == (
        "DescribeHyperParameterTuningJob",
        "t",
        "ResourceNotFound",
    )


@pytest.mark.parametrize(
    "raw",
    [client_error("ThrottlingException", "Rate exceeded"), EndpointConnectionError(endpoint_url="https://x")],
)
def test_other_errors_are_retryable(raw):
    from airflow.sdk.exceptions import AirflowFailException

    error = sagemaker_error(raw, operation="ListTrainingJobsForHyperParameterTuningJob", job_name="t")
    assert type(error) is SageMakerApiError and not isinstance(error, AirflowFailException)
    assert str(error).startswith("SageMaker ListTrainingJobsForHyperParameterTuningJob of t failed: ")
