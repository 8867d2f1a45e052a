"""PARAM_SPECS: the schemas behind the form and the task-side check, tested value by value."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from sagemaker_k8s.config.params import (
    DATASET_SAMPLES,
    DATASET_SOURCE_PATTERN,
    PARAM_SPECS,
)
from sagemaker_k8s.config.run_config import RunConfig, _check, resolve_run_config
from sagemaker_k8s.constants import (
    VAR_BUCKET,
    VAR_CLUSTER,
    VAR_DATASET_SOURCE,
    VAR_EXECUTION_ROLE,
    VAR_NAMESPACE,
    VAR_OPERATOR_ROLE,
    VAR_REGION,
)
from sagemaker_k8s.dataset.sources import SAMPLES, parse_source
from sagemaker_k8s.exceptions import ConfigError

_BASE = {
    "region": "us-west-2",
    "bucket": "my-bucket",
    "execution_role_arn": "arn:aws:iam::123456789012:role/x",
}


def _resolve_valid(conf: dict) -> RunConfig:
    return resolve_run_config({**_BASE, **conf}, variables={}, connection_region=None)


EXPECTED = {
    "flavour",
    "region",
    "cluster_name",
    "namespace",
    "bucket",
    "s3_prefix",
    "execution_role_arn",
    "operator_role_arn",
    "instance_type",
    "instance_count",
    "volume_size_gb",
    "hosting_instance_type",
    "hyperparameters",
    "max_runtime_seconds",
    "endpoint_name",
    "dataset_source",
    "training_image",
    "smoke_test_rows",
    "gate_metric",
    "gate_direction",
    "min_improvement",
    "force_promote",
    "require_approval",
    "min_accuracy",
    "keep_training_jobs",
    "tuning",
    "batch_scoring",
}
HOSTILE = [
    "a\nb",
    "{{ dag_run.conf }}",
    "key: value",
    '{"a": 1}',
    "ünïcode",
    "x" * 5000,
    "",
    " ",
    "$(id)",
    "a;b",
]


def ok(name: str, value: Any) -> bool:
    return not _check(PARAM_SPECS[name].schema, value)


def test_param_names() -> None:
    assert set(PARAM_SPECS) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_defaults_are_valid_and_schemas_well_formed(name: str) -> None:
    spec = PARAM_SPECS[name]
    Draft202012Validator.check_schema(spec.schema)
    assert ok(name, spec.default)
    assert spec.description
    kwargs = spec.param_kwargs()
    assert kwargs["default"] == spec.default and kwargs["description"] == spec.description
    kwargs["default"] = "mutated"
    assert PARAM_SPECS[name].default != "mutated" or name == "mutated"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_airflow_param_accepts_each_spec(name: str) -> None:
    from airflow.sdk import Param

    param = Param(**PARAM_SPECS[name].param_kwargs())
    assert param.resolve() == PARAM_SPECS[name].default
    assert param.dump()["description"] == PARAM_SPECS[name].description


def test_airflow_param_rejects_what_the_schema_rejects() -> None:
    from airflow.sdk import Param
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        Param(**PARAM_SPECS["bucket"].param_kwargs()).resolve(value="a..b")
    # Airflow checks with Python's re, where "$" also matches before a final newline: the form's
    # patterns end with "$(?!\n)" so that the trigger form rejects what resolve_run_config rejects.
    with pytest.raises(ParamValidationError):
        Param(**PARAM_SPECS["region"].param_kwargs()).resolve(value="us-west-2\n")
    assert not ok("region", "us-west-2\n")


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("region", VAR_REGION),
        ("cluster_name", VAR_CLUSTER),
        ("bucket", VAR_BUCKET),
        ("namespace", VAR_NAMESPACE),
        ("execution_role_arn", VAR_EXECUTION_ROLE),
        ("operator_role_arn", VAR_OPERATOR_ROLE),
        ("dataset_source", VAR_DATASET_SOURCE),
    ],
)
def test_fallback_params_accept_null(name: str, variable: str) -> None:
    assert PARAM_SPECS[name].variable == variable
    assert ok(name, None)


@pytest.mark.parametrize("name", ["s3_prefix", "instance_type", "instance_count", "hyperparameters"])
def test_other_params_reject_null(name: str) -> None:
    assert not ok(name, None)


CASES: list[tuple[str, Any, bool]] = [
    ("region", "us-west-2", True),
    ("region", "us-gov-west-1", True),
    ("region", "cn-northwest-1", True),
    ("region", "ap-southeast-4", True),
    ("region", "US-WEST-2", False),
    ("region", "us-west-2\n", False),
    ("region", "us_west_2", False),
    ("region", "uswest2", False),
    ("cluster_name", "my-cluster_1", True),
    ("cluster_name", "-x", False),
    ("cluster_name", "a" * 101, False),
    ("namespace", "default", True),
    ("namespace", "ml-jobs", True),
    ("namespace", "ML", False),
    ("namespace", "a.b", False),
    ("namespace", "a" * 64, False),
    ("namespace", "-a", False),
    ("bucket", "my-bucket", True),
    ("bucket", "my.bucket.1", True),
    ("bucket", "ab", False),
    ("bucket", "a" * 64, False),
    ("bucket", "My-Bucket", False),
    ("bucket", "a..b", False),
    ("bucket", "192.168.1.1", False),
    ("bucket", "xn--abc", False),
    ("bucket", "sthree-x", False),
    ("bucket", "abc-s3alias", False),
    ("bucket", "abc--ol-s3", False),
    ("bucket", "-abc", False),
    ("bucket", "abc-", False),
    ("bucket", "a_b", False),
    ("s3_prefix", "xgboost", True),
    ("s3_prefix", "a/b/c", True),
    ("s3_prefix", "a-b_c.d!e*f'g(h)", True),
    ("s3_prefix", "/a", False),
    ("s3_prefix", "a/", False),
    ("s3_prefix", "a//b", False),
    ("s3_prefix", "", False),
    ("s3_prefix", "a b", False),
    ("s3_prefix", "a/../b", False),
    ("s3_prefix", "./a", False),
    ("s3_prefix", "..", False),
    ("s3_prefix", "a" * 201, False),
    ("s3_prefix", "a..b", True),
    ("execution_role_arn", "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole", True),
    ("execution_role_arn", "arn:aws-cn:iam::123456789012:role/x", True),
    ("execution_role_arn", "arn:aws:iam::12345678901:role/x", False),
    ("execution_role_arn", "arn:aws:iam::123456789012:user/x", False),
    ("execution_role_arn", "arn:aws:iam::123456789012:role/x\n", False),
    ("execution_role_arn", "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/x", False),  # non-ASCII digits
    ("operator_role_arn", "arn:aws:iam::" + "\u0660" * 12 + ":role/=", False),
    ("operator_role_arn", "arn:aws:iam::123456789012:role/x y", False),
    ("instance_type", "ml.m4.xlarge", True),
    ("instance_type", "ml.m5.large", True),
    ("instance_type", "ml.p3.2xlarge", False),
    ("instance_count", 1, True),
    ("instance_count", 10, True),
    ("instance_count", 0, False),
    ("instance_count", 11, False),
    ("instance_count", "2", False),
    ("instance_count", True, False),
    ("instance_count", 1.5, False),
    ("volume_size_gb", 16384, True),
    ("volume_size_gb", 16385, False),
    ("hosting_instance_type", "ml.t2.medium", True),
    ("hosting_instance_type", "ml.r5.large", True),
    ("hosting_instance_type", "ml.m4.2xlarge", False),
    ("hyperparameters", {}, True),
    ("hyperparameters", {"num_round": 1000}, True),
    ("hyperparameters", {"num_round": 0}, False),
    ("hyperparameters", {"max_depth": 21}, False),
    ("hyperparameters", {"eta": 1.01}, False),
    ("hyperparameters", {"gamma": -1}, False),
    ("hyperparameters", {"subsample": 0}, False),
    ("hyperparameters", {"subsample": 1}, True),
    ("hyperparameters", {"objective": "reg:linear"}, False),
    ("hyperparameters", {"num_class": 1}, False),
    ("hyperparameters", {"silent": 2}, False),
    ("hyperparameters", {"unknown": 1}, False),
    ("hyperparameters", {"eta": "0.2"}, False),
    ("hyperparameters", [], False),
    ("hyperparameters", {"eta": math.nan}, False),  # NaN passes minimum/maximum: every comparison is false
    ("hyperparameters", {"subsample": math.nan}, False),
    ("hyperparameters", {"gamma": math.nan}, False),
    ("hyperparameters", {"gamma": math.inf}, False),
    ("hyperparameters", {"min_child_weight": 10**3000}, False),  # no float holds it; 3001 characters
    ("hyperparameters", {"min_child_weight": 1e308, "gamma": 10**300}, True),
    ("hyperparameters", {"num_round": 10.0}, True),  # JSON Schema's integer; stored as 10
    ("max_runtime_seconds", 2419200, True),
    ("max_runtime_seconds", 2419201, False),
    ("endpoint_name", None, True),
    ("endpoint_name", "xgb-mnist-1", True),
    ("endpoint_name", "a" * 64, False),
    ("endpoint_name", "ep_1", False),
    ("endpoint_name", "ep-", False),
    ("dataset_source", "sample:mnist-5k", True),
    ("dataset_source", "s3://my-bucket/data/mnist.csv.gz", True),
    ("dataset_source", "file:///data/mnist.csv", True),
    ("dataset_source", "/data/my file.csv", True),
    ("dataset_source", "https://example.com/mnist.csv", True),
    ("dataset_source", "http://example.com/x", False),
    ("dataset_source", "relative/path.csv", False),
    ("dataset_source", "s3://bucket", False),
    ("dataset_source", "/data/x.csv\n", False),
    ("dataset_source", "/data/a\nb", False),
    ("dataset_source", "https://example.com/a b", False),
    ("dataset_source", "sample:MNIST", False),
    ("dataset_source", "ftp://x/y", False),
    # What parse_source (upload_dataset) rejects, the pattern rejects too:
    ("dataset_source", "sample:mnist-6k", False),
    ("dataset_source", "s3://my-bucket/key?versionId=1", False),
    ("dataset_source", "s3://my-bucket/key#part", False),
    ("dataset_source", "s3://a..b/key", False),
    ("dataset_source", "s3://my-bucket/ ", False),  # strip() leaves no key
    ("dataset_source", "s3://my-bucket/\u3000", False),
    ("dataset_source", "/data/", False),
    ("dataset_source", "/data/\xa0", False),  # a directory once stripped
    ("dataset_source", "file:///", False),
    ("dataset_source", "file:///data%2F", False),  # unquoted: a directory
    ("dataset_source", "file:///data%2f", False),
    ("dataset_source", "https://example.com:99999/x", False),
    ("dataset_source", "https://example.com:65536/x", False),
    ("dataset_source", "https://example.com:\u0668\u0664/x", False),  # Arabic-Indic digits
    ("dataset_source", "s3://192.168.1.1/key", True),
    ("dataset_source", "s3://my-bucket/{{ dag_run.conf }}.pkl.gz", True),  # free text in a key is data
    ("dataset_source", "file:///data/my%20file.pkl.gz", True),
    ("dataset_source", "/data/x y", True),
    ("dataset_source", "https://example.com:65535/x?a=1#b", True),
    ("dataset_source", "https://example.com:0/x", True),
    ("training_image", None, True),
    ("training_image", "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1", True),
    ("training_image", "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/xgboost:1", True),
    ("training_image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/xgb@sha256:" + "a" * 64, True),
    ("training_image", "docker.io/library/python:3", False),
    ("training_image", "433757028032.dkr.ecr.us-west-2.amazonaws.com/X:1", False),
    ("smoke_test_rows", 1, True),
    ("smoke_test_rows", 1000, True),
    ("smoke_test_rows", 1001, False),
    ("gate_metric", "validation:merror", True),
    ("gate_metric", "validation:auc", True),
    ("gate_metric", "train:mlogloss", True),
    ("gate_metric", "validation:", False),
    ("gate_metric", ":merror", False),
    ("gate_metric", "validation merror", False),
    ("gate_direction", "minimize", True),
    ("gate_direction", "maximize", True),
    ("gate_direction", "lower", False),
    ("min_improvement", 0, True),
    ("min_improvement", 0.005, True),
    ("min_improvement", -0.01, False),
    ("min_improvement", float("nan"), False),
    ("force_promote", True, True),
    ("force_promote", "true", False),
    ("require_approval", False, True),
    ("require_approval", 1, False),
    ("min_accuracy", 0.8, True),
    ("min_accuracy", 1, True),
    ("min_accuracy", 1.01, False),
    ("keep_training_jobs", 1, True),
    ("keep_training_jobs", 0, False),
    ("keep_training_jobs", 2.5, False),
    ("tuning", None, True),
    ("tuning", {}, True),
    ("tuning", {"max_jobs": 4, "max_parallel": 2, "strategy": "Random"}, True),
    ("tuning", {"strategy": "Grid"}, False),
    ("tuning", {"max_jobs": 0}, False),
    ("tuning", {"max_parallel": 11}, False),
    ("tuning", {"objective_type": "minimize"}, False),
    ("tuning", {"objective_metric": "validation: merror"}, False),
    ("tuning", {"ranges": {}}, False),
    ("tuning", {"ranges": {"eta": {"min": 0.1, "max": 0.3}}}, True),
    ("tuning", {"ranges": {"eta": {"min": 0.1}}}, False),
    ("tuning", {"ranges": {"eta": {"min": -0.1, "max": 0.3}}}, False),
    ("tuning", {"ranges": {"eta": {"min": 0.1, "max": float("nan")}}}, False),
    ("tuning", {"ranges": {"max_depth": {"min": 1.5, "max": 3}}}, False),
    ("tuning", {"ranges": {"booster": {"min": 1, "max": 3}}}, False),
    ("tuning", {"max_jobs": 4, "extra": 1}, False),
    ("tuning", "Bayesian", False),
    ("batch_scoring", True, True),
    ("batch_scoring", "false", False),
]


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ({"tuning": {"max_jobs": 1}}, {"max_jobs": 1, "max_parallel": 1}),
        ({"tuning": {}}, {"max_jobs": 4, "max_parallel": 2, "strategy": "Bayesian"}),
        ({"tuning": {"max_jobs": 6.0, "max_parallel": 3.0}}, {"max_jobs": 6, "max_parallel": 3}),
        (
            {"tuning": {"ranges": {"max_depth": {"min": 2.0, "max": 4}}}},
            {"ranges": {"max_depth": {"min": 2, "max": 4}}},
        ),
    ],
)
def test_tuning_is_completed_with_defaults(conf: dict, expected: dict) -> None:
    cfg = _resolve_valid(conf)
    assert {k: cfg.tuning[k] for k in expected} == expected
    assert set(cfg.tuning) == {
        "max_jobs",
        "max_parallel",
        "strategy",
        "objective_metric",
        "objective_type",
        "ranges",
    }
    assert all(type(v) is int for v in (cfg.tuning["max_jobs"], cfg.tuning["max_parallel"]))


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"tuning": {"max_jobs": 2, "max_parallel": 3}}, "'tuning.max_parallel': 3 is more than max_jobs 2"),
        (
            {"tuning": {"ranges": {"eta": {"min": 0.5, "max": 0.1}}}},
            "'tuning.ranges.eta': min 0.5 is greater",
        ),
        ({"gate_metric": "test:accuracy"}, "set gate_direction to maximize"),
        (
            {"gate_metric": "test:accuracy", "gate_direction": "maximize", "batch_scoring": False},
            "batch_scoring false turns off",
        ),
    ],
)
def test_tuning_and_scoring_rules_between_params(conf: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        _resolve_valid(conf)


def test_test_accuracy_gate_with_scoring_and_maximize_is_accepted() -> None:
    cfg = _resolve_valid({"gate_metric": "test:accuracy", "gate_direction": "maximize"})
    assert (cfg.gate_metric, cfg.batch_scoring, cfg.tuning) == ("test:accuracy", True, None)


@pytest.mark.parametrize(("name", "value", "valid"), CASES)
def test_schema_cases(name: str, value: Any, valid: bool) -> None:
    assert ok(name, value) is valid


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "name",
    [
        "region",
        "cluster_name",
        "namespace",
        "bucket",
        "s3_prefix",
        "execution_role_arn",
        "endpoint_name",
        "training_image",
        "instance_type",
        "gate_metric",
        "gate_direction",
    ],
)
def test_hostile_strings_rejected(name: str, value: str) -> None:
    assert not ok(name, value)


def _patterns(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
        return own + [p for value in schema.values() for p in _patterns(value)]
    if isinstance(schema, list):
        return [p for value in schema for p in _patterns(value)]
    return []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_patterns_read_alike_in_python_and_ecma(name: str) -> None:
    """The form checks with Python's re, where \\d, \\w and \\s are Unicode; the task side uses
    re.ASCII and the browser ECMA-262 (ASCII \\d and \\w, its own \\s). Spelled-out classes read alike."""
    for pattern in _patterns(PARAM_SPECS[name].schema):
        assert not re.search(r"(?<!\\)(\\\\)*\\[dDwWsSbB]", pattern), (name, pattern)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("execution_role_arn", "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/x"),
        ("operator_role_arn", "arn:aws:iam::" + "\u0660" * 12 + ":role/="),
        ("hyperparameters", {"eta": math.nan}),
        ("hyperparameters", {"gamma": math.inf}),
        ("hyperparameters", {"min_child_weight": 10**3000}),
        ("dataset_source", "sample:mnist-6k"),
        ("dataset_source", "s3://a..b/key"),
        ("dataset_source", "file:///"),
    ],
)
def test_the_form_rejects_what_the_task_side_rejects(name: str, value: Any) -> None:
    from airflow.sdk import Param
    from airflow.sdk.exceptions import ParamValidationError

    assert not ok(name, value)
    with pytest.raises(ParamValidationError):
        Param(**PARAM_SPECS[name].param_kwargs()).resolve(value=value)


def test_dataset_samples_are_the_bundled_ones() -> None:
    assert set(DATASET_SAMPLES) == set(SAMPLES)  # params may not import dataset (DAG parse time)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(DATASET_SOURCE_PATTERN.removeprefix("^").removesuffix("$"), fullmatch=True))
def test_every_dataset_source_the_pattern_accepts_parses(value: str) -> None:
    """upload_dataset parses dataset_source again: what the form and resolve_config accept, it takes."""
    if ok("dataset_source", value):  # within maxLength
        parse_source(value)


IMPORT_PROBE = """
import sys
import airflow.sdk.exceptions  # the DAG file imports Airflow anyway
before = set(sys.modules)
import sagemaker_k8s.config.params, sagemaker_k8s.manifests.naming, sagemaker_k8s.manifests.flavours
new = {m.split('.')[0] for m in set(sys.modules) - before}
print(sorted(new - set(sys.stdlib_module_names)))
"""


def test_import_is_cheap() -> None:
    """Imported at DAG parse time: nothing beyond Airflow and the standard library may load."""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root / "plugins")},
        cwd=str(root),
    )
    assert out.stdout.strip().splitlines()[-1] == "['sagemaker_k8s']"


@pytest.mark.parametrize("value", ["auto", "legacy", "ack"])
def test_flavour_accepts_the_three_choices(value: str) -> None:
    assert ok("flavour", value)


@pytest.mark.parametrize("value", ["ACK", "both", "", None, 1, "ack "])
def test_flavour_rejects_anything_else(value: Any) -> None:
    assert not ok("flavour", value)
