"""The ACK HyperParameterTuningJob manifest: valid against ACK's published CRD, with the same values as
the legacy manifest in ACK's spelling, and the ACK progress line (pure, no mocks)."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.ack import REGION_ANNOTATION
from sagemaker_k8s.manifests.flavours import ACK_HPO_JOB
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.naming import resource_name
from sagemaker_k8s.manifests.tuning import (
    build_ack_tuning_job,
    build_tuning_job,
    render_ack_progress,
    render_progress,
)
from sagemaker_k8s.manifests.validate import validate_resource, validation_errors
from tests.unit.test_manifests_tuning import DAG, ROLE, RUN, TUNING_CASES, WALKTHROUGH, run_config, spec_for

ACK_TEMPLATE = "ack/hyperparametertuningjob"


def both(**tuning: Any) -> tuple[dict, dict]:
    """(legacy, ACK) manifests for the same run."""
    spec = spec_for(run_config(**tuning))
    return (
        build_tuning_job(load_template("hyperparametertuningjob"), spec),
        build_ack_tuning_job(load_template(ACK_TEMPLATE), spec),
    )


def test_the_template_is_valid_as_shipped():
    assert validation_errors(ACK_HPO_JOB, load_template(ACK_TEMPLATE)) == []


@pytest.mark.parametrize("tuning", TUNING_CASES)
def test_manifest_from_params_satisfies_acks_crd(tuning):
    _, body = both(**tuning)
    validate_resource(ACK_HPO_JOB, body)  # raises with every problem
    assert (body["apiVersion"], body["kind"]) == (
        "sagemaker.services.k8s.aws/v1alpha1",
        "HyperParameterTuningJob",
    )
    assert "region" not in body["spec"]
    assert body["metadata"]["annotations"][REGION_ANNOTATION] == "us-west-2"


@pytest.mark.parametrize("tuning", TUNING_CASES)
def test_same_tuning_config_as_legacy_with_type_underscore(tuning):
    legacy, ack = both(**tuning)
    want = legacy["spec"]["hyperParameterTuningJobConfig"]
    got = ack["spec"]["hyperParameterTuningJobConfig"]
    objective = want["hyperParameterTuningJobObjective"]
    assert got["hyperParameterTuningJobObjective"] == {
        "type_": objective["type"],
        "metricName": objective["metricName"],
    }
    for key in ("strategy", "resourceLimits", "parameterRanges", "trainingJobEarlyStoppingType"):
        assert got[key] == want[key], key


@pytest.mark.parametrize("tuning", TUNING_CASES)
def test_same_training_job_definition_as_legacy_in_acks_spelling(tuning):
    legacy, ack = both(**tuning)
    want, got = legacy["spec"]["trainingJobDefinition"], ack["spec"]["trainingJobDefinition"]
    assert got["roleARN"] == want["roleArn"] == ROLE and "roleArn" not in got
    static = {hp["name"]: hp["value"] for hp in want["staticHyperParameters"]}
    assert got["staticHyperParameters"] == static  # a map, the same names and strings
    assert list(got["staticHyperParameters"]) == [hp["name"] for hp in want["staticHyperParameters"]]
    uris = {c["channelName"]: c["dataSource"]["s3DataSource"]["s3URI"] for c in got["inputDataConfig"]}
    assert uris == {
        c["channelName"]: c["dataSource"]["s3DataSource"]["s3Uri"] for c in want["inputDataConfig"]
    }
    for key in ("algorithmSpecification", "outputDataConfig", "resourceConfig", "stoppingCondition"):
        assert got[key] == want[key], key
    assert ack["spec"]["hyperParameterTuningJobName"] == legacy["spec"]["hyperParameterTuningJobName"]
    assert ack["metadata"]["name"] == legacy["metadata"]["name"]
    assert ack["metadata"]["labels"] == legacy["metadata"]["labels"]


@pytest.mark.parametrize(
    ("tuning", "tuned"),
    [
        pytest.param({"ranges": {"eta": {"min": 0.1, "max": 0.3}}}, {"eta"}, id="eta"),
        pytest.param({"ranges": {"num_round": {"min": 5, "max": 9}}}, {"num_round"}, id="num_round"),
        pytest.param({"ranges": {"subsample": {"min": 0.5, "max": 1}}}, set(), id="not-static"),
    ],
)
def test_tuned_names_leave_the_static_map(tuning, tuned):
    cfg = run_config(**tuning)
    body = build_ack_tuning_job(load_template(ACK_TEMPLATE), spec_for(cfg))
    static = body["spec"]["trainingJobDefinition"]["staticHyperParameters"]
    assert list(static) == [n for n in WALKTHROUGH if n not in tuned]
    assert static == {n: str(v) for n, v in cfg.hyperparameters.items() if n not in tuned}


def test_names_and_s3_paths():
    body = build_ack_tuning_job(load_template(ACK_TEMPLATE), spec_for(run_config()))
    definition = body["spec"]["trainingJobDefinition"]
    assert body["metadata"]["name"] == resource_name(DAG, RUN, "submit_tuning")
    assert body["spec"]["hyperParameterTuningJobName"] == resource_name(
        DAG, RUN, "submit_tuning", max_length=32
    )
    assert definition["outputDataConfig"] == {"s3OutputPath": "s3://my-bucket/xgboost-mnist/output/"}
    assert [c["dataSource"]["s3DataSource"]["s3URI"] for c in definition["inputDataConfig"]] == [
        "s3://my-bucket/xgboost-mnist/train/",
        "s3://my-bucket/xgboost-mnist/validation/",
    ]


@pytest.mark.parametrize(
    ("template", "match"),
    [("hyperparametertuningjob", "expected HyperParameterTuningJob"), ("ack/trainingjob", "expected Hyper")],
)
def test_other_templates_are_refused(template, match):
    with pytest.raises(ConfigError, match=match):
        build_ack_tuning_job(load_template(template), spec_for(run_config()))


def test_template_is_not_mutated():
    template = load_template(ACK_TEMPLATE)
    before = repr(template)
    build_ack_tuning_job(template, spec_for(run_config()))
    assert repr(template) == before


# -- render_ack_progress ---------------------------------------------------------------------------
COUNTERS = {"completed": 3, "in_progress": 1, "retryable_error": 1, "non_retryable_error": 1,
            "stopped": 0, "total_error": 2}  # fmt: skip
BEST = {"trainingJobName": "tune-abc-002-89abcdef", "tunedHyperParameters": {"eta": "0.3"}}


@pytest.mark.parametrize(
    ("status", "counters", "expected"),
    [
        pytest.param({}, None, "(no status yet); no training jobs yet; best so far: none yet", id="nothing"),
        pytest.param(
            {"hyperParameterTuningJobStatus": "InProgress"},
            COUNTERS,
            "InProgress; training jobs: 3 completed, 1 in progress, 2 errors, 0 stopped; "
            "best so far: none yet",
            id="counters-from-sagemaker",
        ),
        pytest.param(
            {"hyperParameterTuningJobStatus": "InProgress", "bestTrainingJob": BEST},
            COUNTERS,
            "InProgress; training jobs: 3 completed, 1 in progress, 2 errors, 0 stopped; "
            "best so far: tune-abc-002-89abcdef",
            id="best",
        ),
        pytest.param(
            {"hyperParameterTuningJobStatus": "Failed", "failureReason": "No training job succeeded"},
            None,
            "Failed; no training jobs yet; best so far: none yet (No training job succeeded)",
            id="failure-reason",
        ),
        pytest.param(
            {"hyperParameterTuningJobStatus": "InProgress", "trainingJobStatusCounters": {"completed": 9}},
            None,
            "InProgress; no training jobs yet; best so far: none yet",
            id="status-counters-ignored",
        ),
    ],
)
def test_render_ack_progress(status, counters, expected):
    assert render_ack_progress(status, counters) == expected


def test_the_ack_line_reads_like_the_legacy_one_for_the_same_job():
    legacy = {
        "hyperParameterTuningJobStatus": "InProgress",
        "trainingJobStatusCounters": {"completed": 3, "inProgress": 1, "totalError": 2, "stopped": 0},
        "bestTrainingJob": BEST,
    }
    ack = {"hyperParameterTuningJobStatus": "InProgress", "bestTrainingJob": BEST}
    assert render_ack_progress(ack, COUNTERS) == render_progress(legacy)
