"""The HyperparameterTuningJob manifest, the best model's URI and the progress line (pure, no mocks)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sagemaker_k8s.config.params import DEFAULT_TUNING
from sagemaker_k8s.config.run_config import resolve_run_config
from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.flavours import LEGACY_HPO_JOB
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.naming import resource_name
from sagemaker_k8s.manifests.tuning import (
    TuningJobSpec,
    best_model_uri,
    build_tuning_job,
    parameter_ranges,
    render_progress,
)
from sagemaker_k8s.manifests.validate import validate_resource
from sagemaker_k8s.tunable import TUNABLE_RANGES

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
DAG, RUN = "sagemaker_xgboost_mnist", "manual__2026-12-06T00:00:00+00:00"
WALKTHROUGH = [
    "max_depth",
    "eta",
    "gamma",
    "min_child_weight",
    "silent",
    "objective",
    "num_class",
    "num_round",
]


def run_config(**tuning: Any):
    return resolve_run_config(
        {"tuning": tuning},
        variables={
            "sagemaker_k8s_region": "us-west-2",
            "sagemaker_k8s_bucket": "my-bucket",
            "sagemaker_k8s_execution_role_arn": ROLE,
        },
        connection_region=None,
    )


def spec_for(cfg, **overrides: Any) -> TuningJobSpec:
    """What the submit task builds from a resolved run configuration."""
    t = cfg.tuning
    values: dict[str, Any] = {
        "cr_name": resource_name(DAG, RUN, "submit_tuning"),
        "namespace": cfg.namespace,
        "job_name": resource_name(DAG, RUN, "submit_tuning", max_length=32),
        "region": cfg.region,
        "role_arn": cfg.execution_role_arn,
        "image": cfg.training_image or xgboost_image(cfg.region),
        "bucket": cfg.bucket,
        "prefix": cfg.s3_prefix,
        "instance_type": cfg.instance_type,
        "instance_count": cfg.instance_count,
        "volume_size_gb": cfg.volume_size_gb,
        "max_runtime_seconds": cfg.max_runtime_seconds,
        "hyperparameters": cfg.hyperparameters,
        "max_jobs": t["max_jobs"],
        "max_parallel": t["max_parallel"],
        "strategy": t["strategy"],
        "objective_metric": t["objective_metric"],
        "objective_type": t["objective_type"],
        "ranges": t["ranges"],
    }
    return TuningJobSpec(**{**values, **overrides})


def build(**tuning: Any) -> dict:
    return build_tuning_job(load_template("hyperparametertuningjob"), spec_for(run_config(**tuning)))


TUNING_CASES = [
    pytest.param({}, id="defaults"),
    pytest.param({"max_jobs": 10, "max_parallel": 3, "strategy": "Random"}, id="random"),
    pytest.param({"ranges": {"eta": {"min": 0.05, "max": 0.5}}}, id="one-continuous"),
    pytest.param({"ranges": {"num_round": {"min": 5, "max": 50}, "max_depth": {"min": 2, "max": 8}}},
                 id="ints"),
    pytest.param({"objective_metric": "validation:mlogloss", "objective_type": "Minimize"}, id="mlogloss"),
    pytest.param({"ranges": {name: {"min": lo, "max": hi} for name, (_, lo, hi) in TUNABLE_RANGES.items()}},
                 id="every-tunable-at-its-limits"),
]  # fmt: skip


@pytest.mark.parametrize("tuning", TUNING_CASES)
def test_manifest_from_params_satisfies_the_published_crd(tuning):
    body = build(**tuning)
    validate_resource(LEGACY_HPO_JOB, body)  # raises with every problem
    assert (body["apiVersion"], body["kind"]) == ("sagemaker.aws.amazon.com/v1", "HyperparameterTuningJob")


@pytest.mark.parametrize("tuning", TUNING_CASES)
def test_config_fields_come_from_the_params(tuning):
    cfg = run_config(**tuning)
    spec = build_tuning_job(load_template("hyperparametertuningjob"), spec_for(cfg))["spec"]
    config, t = spec["hyperParameterTuningJobConfig"], cfg.tuning
    assert config["strategy"] == t["strategy"]
    assert config["hyperParameterTuningJobObjective"] == {
        "type": t["objective_type"],
        "metricName": t["objective_metric"],
    }
    assert config["resourceLimits"] == {
        "maxNumberOfTrainingJobs": t["max_jobs"],
        "maxParallelTrainingJobs": t["max_parallel"],
    }
    ranges = config["parameterRanges"]
    listed = {r["name"]: r for kind in ranges.values() for r in kind}
    assert set(listed) == set(t["ranges"])
    for name, item in listed.items():
        kind = TUNABLE_RANGES[name][0]
        assert item in ranges[f"{kind}ParameterRanges"]
        assert item["scalingType"] == "Auto"
        assert isinstance(item["minValue"], str) and isinstance(item["maxValue"], str)
        assert float(item["minValue"]) == t["ranges"][name]["min"]
        assert float(item["maxValue"]) == t["ranges"][name]["max"]
    assert ranges["categoricalParameterRanges"] == []
    assert config["trainingJobEarlyStoppingType"] == "Off"


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        ({"max_depth": {"min": 1, "max": 10}}, ("integerParameterRanges", "1", "10")),
        ({"max_depth": {"min": 1.0, "max": 10.0}}, ("integerParameterRanges", "1", "10")),  # no ".0"
        ({"num_round": {"min": 1, "max": 1000}}, ("integerParameterRanges", "1", "1000")),
        ({"eta": {"min": 0, "max": 1}}, ("continuousParameterRanges", "0", "1")),
        ({"eta": {"min": 0.0, "max": 1.0}}, ("continuousParameterRanges", "0", "1")),
        ({"eta": {"min": 0.05, "max": 0.5}}, ("continuousParameterRanges", "0.05", "0.5")),
        ({"subsample": {"min": 0.5, "max": 1}}, ("continuousParameterRanges", "0.5", "1")),
        ({"alpha": {"min": 1e-05, "max": 1000}}, ("continuousParameterRanges", "1e-05", "1000")),
    ],
)
def test_bounds_are_strings_and_integers_have_no_decimal_point(ranges, expected):
    field, low, high = expected
    out = parameter_ranges(ranges)
    assert out[field] == [
        {"name": next(iter(ranges)), "minValue": low, "maxValue": high, "scalingType": "Auto"}
    ]
    assert sum(len(v) for v in out.values()) == 1


def test_ranges_are_sorted_by_name_whatever_the_params_order():
    a = parameter_ranges({"eta": {"min": 0, "max": 1}, "alpha": {"min": 0, "max": 2}})
    b = parameter_ranges({"alpha": {"min": 0, "max": 2}, "eta": {"min": 0, "max": 1}})
    assert a == b and [r["name"] for r in a["continuousParameterRanges"]] == ["alpha", "eta"]


@pytest.mark.parametrize(
    ("tuning", "tuned"),
    [
        pytest.param({}, set(DEFAULT_TUNING["ranges"]), id="defaults"),
        pytest.param({"ranges": {"eta": {"min": 0.1, "max": 0.3}}}, {"eta"}, id="eta"),
        pytest.param({"ranges": {"num_round": {"min": 5, "max": 9}}}, {"num_round"}, id="num_round"),
        pytest.param({"ranges": {"subsample": {"min": 0.5, "max": 1}}}, {"subsample"}, id="not-static"),
    ],
)
def test_static_hyperparameters_are_the_runs_minus_the_tuned(tuning, tuned):
    cfg = run_config(**tuning)
    spec = build_tuning_job(load_template("hyperparametertuningjob"), spec_for(cfg))["spec"]
    static = spec["trainingJobDefinition"]["staticHyperParameters"]
    names = [hp["name"] for hp in static]
    assert names == [n for n in WALKTHROUGH if n not in tuned]  # template order, tuned names left out
    assert all(isinstance(hp["value"], str) for hp in static)
    assert {hp["name"]: hp["value"] for hp in static} == {
        n: str(v) for n, v in cfg.hyperparameters.items() if n not in tuned
    }


def test_static_hyperparameters_take_the_runs_values():
    cfg = run_config(ranges={"eta": {"min": 0.1, "max": 0.3}})
    spec = spec_for(cfg, hyperparameters={**cfg.hyperparameters, "num_round": 3.0, "eta": 0.9})
    body = build_tuning_job(load_template("hyperparametertuningjob"), spec)["spec"]
    static = {hp["name"]: hp["value"] for hp in body["trainingJobDefinition"]["staticHyperParameters"]}
    assert static["num_round"] == "3"  # rendered like manifests.specs.hyperparameter_value
    assert "eta" not in static


def test_training_job_definition_and_names():
    cfg = run_config()
    body = build()
    spec, definition = body["spec"], body["spec"]["trainingJobDefinition"]
    assert body["metadata"]["name"] == resource_name(DAG, RUN, "submit_tuning")
    assert spec["hyperParameterTuningJobName"] == resource_name(DAG, RUN, "submit_tuning", max_length=32)
    assert spec["region"] == "us-west-2"
    assert definition["roleArn"] == ROLE
    image = xgboost_image("us-west-2")
    assert definition["algorithmSpecification"] == {"trainingImage": image, "trainingInputMode": "File"}
    assert definition["outputDataConfig"] == {"s3OutputPath": "s3://my-bucket/xgboost-mnist/output/"}
    channels = {
        c["channelName"]: c["dataSource"]["s3DataSource"]["s3Uri"] for c in definition["inputDataConfig"]
    }
    assert channels == {
        "train": "s3://my-bucket/xgboost-mnist/train/",
        "validation": "s3://my-bucket/xgboost-mnist/validation/",
    }
    assert definition["resourceConfig"] == {
        "instanceType": cfg.instance_type,
        "instanceCount": cfg.instance_count,
        "volumeSizeInGB": cfg.volume_size_gb,
    }
    assert definition["stoppingCondition"] == {"maxRuntimeInSeconds": cfg.max_runtime_seconds}


@pytest.mark.parametrize(
    ("dag", "run", "task"),
    [
        (DAG, RUN, "submit_tuning"),
        ("a" * 200, "scheduled__2026-12-06T00:00:00+00:00", "t" * 250),
        ("d", "bench-tune", "submit_tuning"),
        ("Ünïcödé DAG", "manual__x", "submit.tuning"),
    ],
)
def test_tuning_job_name_fits_sagemakers_32_characters_and_is_deterministic(dag, run, task):
    name = resource_name(dag, run, task, max_length=LEGACY_HPO_JOB.name_max_length)
    assert len(name) <= 32 and name == resource_name(dag, run, task, max_length=32)
    assert name != resource_name(dag, run + "x", task, max_length=32)
    spec_for(run_config(), job_name=name)  # accepted


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"job_name": "x" * 33}, "job_name"),
        ({"max_jobs": 0}, "tuning.max_jobs"),
        ({"max_parallel": 5, "max_jobs": 4}, "tuning.max_parallel"),
        ({"max_parallel": True}, "tuning.max_parallel"),
        ({"strategy": "Grid"}, "tuning.strategy"),
        ({"objective_type": "minimize"}, "tuning.objective_type"),
        ({"objective_metric": "validation merror"}, "tuning.objective_metric"),
        ({"objective_metric": ""}, "tuning.objective_metric"),
        ({"ranges": {}}, "tuning.ranges"),
        ({"ranges": {"booster": {"min": 0, "max": 1}}}, "tuning.ranges"),
        ({"ranges": {"eta": {"min": 0}}}, "tuning.ranges.eta"),
        ({"ranges": {"eta": {"min": 0.5, "max": 0.1}}}, "tuning.ranges.eta"),
        ({"ranges": {"eta": {"min": 0, "max": 2}}}, "tuning.ranges.eta.max"),
        ({"ranges": {"eta": {"min": math.nan, "max": 1}}}, "tuning.ranges.eta.min"),
        ({"ranges": {"eta": {"min": "0", "max": 1}}}, "tuning.ranges.eta.min"),
        ({"ranges": {"max_depth": {"min": 1.5, "max": 4}}}, "tuning.ranges.max_depth.min"),
        ({"bucket": "a/b"}, "bucket"),
    ],
)
def test_invalid_specs_fail_on_construction_naming_the_field(overrides, param):
    with pytest.raises(ConfigError) as info:
        spec_for(run_config(), **overrides)
    assert info.value.param == param


@pytest.mark.parametrize(
    ("per_job", "jobs", "parallel", "total"),
    [(3600, 4, 2, 7200), (3600, 5, 2, 10800), (100, 1, 1, 100), (100, 10, 10, 100)],
)
def test_overall_runtime_bound(per_job, jobs, parallel, total):
    spec = spec_for(run_config(), max_runtime_seconds=per_job, max_jobs=jobs, max_parallel=parallel)
    assert spec.max_runtime_total == total


def test_template_is_not_mutated():
    template = load_template("hyperparametertuningjob")
    before = repr(template)
    build_tuning_job(template, spec_for(run_config()))
    assert repr(template) == before


# -- best_model_uri -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    ["s3://b/p/output/", "s3://b/p/output", "s3://b/p/output//", "s3://b/xgboost"],
)
def test_best_model_uri_has_exactly_one_slash_after_the_output_path(output):
    uri = best_model_uri(output, "tune-abc-003-0123abcd")
    assert uri == f"{output.rstrip('/')}/tune-abc-003-0123abcd/output/model.tar.gz"
    assert "//" not in uri.removeprefix("s3://")


@pytest.mark.parametrize(
    ("output", "job"), [("", "j"), ("b/p/", "j"), (None, "j"), ("s3://b/p/", ""), ("s3://b/", "a b")]
)
def test_best_model_uri_refuses_nonsense(output, job):
    with pytest.raises(ValueError):
        best_model_uri(output, job)


# -- render_progress ----------------------------------------------------------------------------------


def jobs(completed, in_progress, errors, stopped) -> str:
    return (
        f"training jobs: {completed} completed, {in_progress} in progress, {errors} errors, {stopped} stopped"
    )


BEST = {"trainingJobName": "tune-abc-002-89abcdef", "finalHyperParameterTuningJobObjectiveMetric": {}}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(None, "(no status yet); no training jobs yet; best so far: none yet", id="none"),
        pytest.param({}, "(no status yet); no training jobs yet; best so far: none yet", id="empty"),
        pytest.param(
            {"hyperParameterTuningJobStatus": "SynchronizingK8sJobWithSageMaker"},
            "SynchronizingK8sJobWithSageMaker; no training jobs yet; best so far: none yet",
            id="synchronizing",
        ),
        pytest.param(
            {"hyperParameterTuningJobStatus": "InProgress", "trainingJobStatusCounters": {"inProgress": 2}},
            f"InProgress; {jobs(0, 2, 0, 0)}; best so far: none yet",
            id="zero-counters-omitted",
        ),
        pytest.param(
            {
                "hyperParameterTuningJobStatus": "InProgress",
                "trainingJobStatusCounters": {
                    "completed": 0,
                    "inProgress": 0,
                    "totalError": 0,
                    "stopped": 0,
                    "retryableError": 0,
                    "nonRetryableError": 0,
                },
            },
            f"InProgress; {jobs(0, 0, 0, 0)}; best so far: none yet",
            id="zero-counters-written",
        ),
        pytest.param(
            {
                "hyperParameterTuningJobStatus": "InProgress",
                "bestTrainingJob": BEST,
                "trainingJobStatusCounters": {"completed": 3, "inProgress": 1, "totalError": 2, "stopped": 1},
            },
            "InProgress; training jobs: 3 completed, 1 in progress, 2 errors, 1 stopped; "
            "best so far: tune-abc-002-89abcdef",
            id="best-present",
        ),
        pytest.param(
            {
                "hyperParameterTuningJobStatus": "InProgress",
                "bestTrainingJob": {"trainingJobName": ""},
                "trainingJobStatusCounters": {
                    "completed": "4",
                    "inProgress": -1,
                    "totalError": None,
                    "stopped": True,
                },
            },
            f"InProgress; {jobs(4, '?', 0, '?')}; best so far: none yet",
            id="odd-counters",
        ),
        pytest.param(
            {"hyperParameterTuningJobStatus": 7, "trainingJobStatusCounters": ["x"], "bestTrainingJob": "x"},
            "(no status yet); no training jobs yet; best so far: none yet",
            id="odd-types",
        ),
        pytest.param(
            {
                "hyperParameterTuningJobStatus": "ReconcilingTuningJob",
                "additional": "Unable to describe SageMaker tuning job:\n  ThrottlingException",
            },
            "ReconcilingTuningJob; no training jobs yet; best so far: none yet (Unable to describe SageMaker "
            "tuning job: ThrottlingException)",
            id="reconciling-with-reason",
        ),
    ],
)
def test_render_progress(status, expected):
    assert render_progress(status) == expected


def test_render_progress_caps_long_reasons():
    line = render_progress({"hyperParameterTuningJobStatus": "Failed", "additional": "x" * 5000})
    assert len(line) < 300 and line.endswith("…)")
