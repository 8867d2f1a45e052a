"""resolve_run_config: fallbacks, all problems at once, cross-field rules, XCom round trip."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

import pytest

from sagemaker_k8s.config.params import PARAM_SPECS, WALKTHROUGH_HYPERPARAMETERS
from sagemaker_k8s.config.run_config import RunConfig, check_conf_keys, resolve_run_config
from sagemaker_k8s.constants import (
    VAR_BUCKET,
    VAR_CLUSTER,
    VAR_DATASET_SOURCE,
    VAR_EXECUTION_ROLE,
    VAR_NAMESPACE,
    VAR_OPERATOR_ROLE,
    VAR_REGION,
)
from sagemaker_k8s.exceptions import ConfigError

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
OP_ROLE = "arn:aws:iam::123456789012:role/sagemaker-operator"
VARIABLES = {VAR_REGION: "us-west-2", VAR_BUCKET: "var-bucket", VAR_EXECUTION_ROLE: ROLE}


def resolve(
    params: dict[str, Any] | None = None, variables: dict[str, Any] | None = None, region: str | None = None
) -> RunConfig:
    return resolve_run_config(
        params or {}, variables=VARIABLES if variables is None else variables, connection_region=region
    )


def problems(
    params: dict[str, Any], variables: dict[str, Any] | None = None, region: str | None = None
) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        resolve(params, variables, region)
    return e.value


def test_defaults_with_variables() -> None:
    cfg = resolve()
    assert (cfg.region, cfg.bucket, cfg.execution_role_arn) == ("us-west-2", "var-bucket", ROLE)
    assert cfg.namespace == "default" and cfg.cluster_name is None and cfg.operator_role_arn is None
    assert (
        cfg.s3_prefix == "xgboost-mnist" and cfg.instance_type == "ml.m4.xlarge" and cfg.instance_count == 1
    )
    assert dict(cfg.hyperparameters) == WALKTHROUGH_HYPERPARAMETERS
    assert cfg.training_image is None  # the region's built-in XGBoost image
    assert cfg.origins["region"] == f"Airflow Variable {VAR_REGION!r}"
    assert cfg.origins["namespace"] == "default"
    assert cfg.origins["operator_role_arn"] == "unset"


def test_params_win_over_variables() -> None:
    cfg = resolve(
        {"region": "eu-west-1", "bucket": "param-bucket", "namespace": "ml"},
        {**VARIABLES, VAR_NAMESPACE: "other"},
    )
    assert (cfg.region, cfg.bucket, cfg.namespace) == ("eu-west-1", "param-bucket", "ml")
    assert cfg.origins["region"] == "param"


def test_all_variables() -> None:
    variables = {**VARIABLES, VAR_CLUSTER: "eks-1", VAR_NAMESPACE: "ml", VAR_OPERATOR_ROLE: OP_ROLE}
    cfg = resolve(variables=variables)
    assert (cfg.cluster_name, cfg.namespace, cfg.operator_role_arn) == ("eks-1", "ml", OP_ROLE)


@pytest.mark.parametrize(
    ("variable", "expected"), [("  us-east-2\n", "us-east-2"), ("", None), ("   ", None)]
)
def test_variable_values_are_stripped(variable: str, expected: str | None) -> None:
    cfg = resolve(variables={**VARIABLES, VAR_REGION: variable}, region="ap-south-1")
    assert cfg.region == (expected or "ap-south-1")


def test_connection_region_is_last_fallback() -> None:
    cfg = resolve(variables={VAR_BUCKET: "b-1", VAR_EXECUTION_ROLE: ROLE}, region="eu-central-1")
    assert cfg.region == "eu-central-1"
    assert cfg.origins["region"] == "the AWS connection's region"


def test_missing_required_values_are_all_reported() -> None:
    err = problems({}, variables={})
    assert err.param == "region"
    text = str(err)
    for name, var in (
        ("region", VAR_REGION),
        ("bucket", VAR_BUCKET),
        ("execution_role_arn", VAR_EXECUTION_ROLE),
    ):
        assert f"param {name!r} is required: set it or the Airflow Variable {var!r}" in text
    assert len(err.problems) == 3


def test_every_bad_param_is_reported_before_anything_runs() -> None:
    err = problems(
        {
            "region": "us-west-2\n",
            "bucket": "a..b",
            "instance_count": 0,
            "s3_prefix": "/x/",
            "hyperparameters": {"eta": 2, "bogus": 1},
            "endpoint_name": "{{ x }}",
        }
    )
    joined = "\n".join(err.problems)
    for name in ("region", "bucket", "instance_count", "s3_prefix", "endpoint_name"):
        assert f"param {name!r}" in joined
    assert "param 'hyperparameters.eta': must be <= 1 (got 2)" in joined
    assert "param 'bucket': 'a..b' is not allowed: two adjacent periods" in joined
    assert "param 'instance_count': must be >= 1 (got 0)" in joined
    assert "bogus" in joined
    assert "\\n" in joined  # the newline shown escaped, never raw
    assert all("\n" not in p for p in err.problems)


def test_bad_variable_is_named() -> None:
    err = problems({}, {**VARIABLES, VAR_BUCKET: "Bad_Bucket"})
    assert err.param == "bucket"
    assert f"Airflow Variable {VAR_BUCKET!r} (fallback for param 'bucket')" in str(err)


def test_bad_connection_region_is_named() -> None:
    err = problems({}, {VAR_BUCKET: "b-1", VAR_EXECUTION_ROLE: ROLE}, region="moon-1")
    assert "the AWS connection's region" in str(err)


def test_non_string_variable() -> None:
    assert problems({}, {**VARIABLES, VAR_REGION: 5}).param == "region"


@pytest.mark.parametrize(
    ("params", "param", "needle"),
    [
        ({"region": "cn-north-1"}, "execution_role_arn", "partition 'aws'"),
        (
            {"region": "us-west-2", "execution_role_arn": "arn:aws-cn:iam::123456789012:role/x"},
            "execution_role_arn",
            "expected arn:aws:",
        ),
        (
            {
                "region": "us-gov-west-1",
                "execution_role_arn": "arn:aws-us-gov:iam::123456789012:role/x",
                "operator_role_arn": OP_ROLE,
            },
            "operator_role_arn",
            "expected arn:aws-us-gov:",
        ),
        (
            {
                "region": "us-east-1",
                "training_image": "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1",
            },
            "training_image",
            "'us-west-2'",
        ),
        ({"region": "il-central-1"}, "region", "no built-in XGBoost image"),
    ],
)
def test_cross_checks(params: dict[str, Any], param: str, needle: str) -> None:
    err = problems(params)
    assert err.param == param
    assert needle in str(err)


@pytest.mark.parametrize(
    ("variables", "params", "needle"),
    [
        (
            {**VARIABLES, VAR_REGION: "cn-north-1"},
            {},
            f"param 'execution_role_arn' (from Airflow Variable {VAR_EXECUTION_ROLE!r}): ARN partition 'aws' "
            f"does not match region 'cn-north-1' (from Airflow Variable {VAR_REGION!r})",
        ),
        (
            {**VARIABLES, VAR_OPERATOR_ROLE: "arn:aws-cn:iam::123456789012:role/op"},
            {},
            f"param 'operator_role_arn' (from Airflow Variable {VAR_OPERATOR_ROLE!r}): ARN partition "
            f"'aws-cn' does not match region 'us-west-2' (from Airflow Variable {VAR_REGION!r})",
        ),
        (
            VARIABLES,
            {"region": "cn-north-1"},
            f"param 'execution_role_arn' (from Airflow Variable {VAR_EXECUTION_ROLE!r}): ARN partition 'aws' "
            "does not match region 'cn-north-1' (expected",
        ),
        (
            {**VARIABLES, VAR_REGION: "il-central-1"},
            {"execution_role_arn": ROLE},
            f"param 'region' (from Airflow Variable {VAR_REGION!r}): no built-in XGBoost image",
        ),
        (
            {VAR_BUCKET: "b-1", VAR_EXECUTION_ROLE: ROLE},
            {"training_image": "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"},
            "jobs run in region 'eu-west-1' (from the AWS connection's region)",
        ),
    ],
    ids=["region-and-role-from-variables", "operator-role", "region-as-param", "image-region", "connection"],
)
def test_cross_checks_say_which_value_came_from_a_variable(
    variables: dict[str, Any], params: dict[str, Any], needle: str
) -> None:
    err = problems(params, variables, region="eu-west-1")
    assert needle in str(err), err.problems


def test_unlisted_region_works_with_explicit_image() -> None:
    image = "123456789012.dkr.ecr.il-central-1.amazonaws.com/xgboost:1"
    cfg = resolve({"region": "il-central-1", "training_image": image})
    assert cfg.training_image == image


def test_hyperparameter_integers_given_as_floats_are_normalised() -> None:
    cfg = resolve({"hyperparameters": {"num_round": 10.0, "eta": 1.0, "max_depth": 3}})
    assert dict(cfg.hyperparameters) == {"num_round": 10, "eta": 1.0, "max_depth": 3}
    assert isinstance(cfg.hyperparameters["num_round"], int)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("instance_count", 2.0),
        ("volume_size_gb", 1.0),
        ("max_runtime_seconds", 3600.0),
        ("smoke_test_rows", 1.0),
    ],
)
def test_integer_params_given_as_integral_floats_are_stored_as_ints(name: str, value: float) -> None:
    """JSON Schema calls 2.0 an integer; the manifests' checks, the CRD schemas and the smoke test's
    slicing do not: RunConfig holds ints only, after an XCom round trip too."""
    cfg = resolve({name: value})
    assert getattr(cfg, name) == value and type(getattr(cfg, name)) is int
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert type(getattr(again, name)) is int


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"instance_count": 2.5}, "param 'instance_count': 2.5 is not of type integer"),
        ({"smoke_test_rows": 1e300}, "param 'smoke_test_rows': must be <= 1000 (got 1e+300)"),
        ({"volume_size_gb": math.inf}, "param 'volume_size_gb': inf is not of type integer"),
        ({"max_runtime_seconds": math.nan}, "param 'max_runtime_seconds': nan is not of type integer"),
        ({"hyperparameters": {"num_round": 10.5}}, "param 'hyperparameters.num_round': 10.5 is not of type"),
    ],
)
def test_integer_params_reject_what_is_no_integer(params: dict[str, Any], problem: str) -> None:
    assert problem in problems(params).problems[0]


@pytest.mark.parametrize(
    ("hyperparameters", "problem"),
    [
        ({"eta": math.nan}, "param 'hyperparameters.eta': nan is not allowed: NaN (not a number)"),
        (
            {"subsample": math.nan},
            "param 'hyperparameters.subsample': nan is not allowed: NaN (not a number)",
        ),
        ({"gamma": math.nan}, "param 'hyperparameters.gamma': nan is not allowed: NaN (not a number)"),
        ({"gamma": math.inf}, "param 'hyperparameters.gamma': must be a finite number (got inf)"),
        ({"gamma": -math.inf}, "param 'hyperparameters.gamma': must be >= 0 (got -inf)"),
        (
            {"min_child_weight": 10**3000},
            "param 'hyperparameters.min_child_weight': must be a finite number "
            "(got an integer of about 10**3000)",
        ),
        ({"min_child_weight": 10**5000}, "param 'hyperparameters': contains an integer too large to check"),
    ],
    ids=["eta-nan", "subsample-nan", "gamma-nan", "gamma-inf", "gamma-minus-inf", "10**3000", "10**5000"],
)
def test_hyperparameters_must_be_finite(hyperparameters: dict[str, Any], problem: str) -> None:
    """SageMaker takes neither NaN nor Infinity, and a hyperparameter value is at most 2500 characters:
    rejected up front, not by submit_training's manifest check after the dataset went up."""
    err = problems({"hyperparameters": hyperparameters})
    assert err.param == "hyperparameters"
    assert err.problems == (problem,) or err.problems[0].startswith(problem), err.problems
    assert all(len(p) < 300 for p in err.problems)


@pytest.mark.parametrize("value", [1e308, 0.0, 5e-324, 10**300])
def test_large_and_tiny_finite_hyperparameters_are_accepted(value: float) -> None:
    assert resolve({"hyperparameters": {"gamma": value}}).hyperparameters["gamma"] == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("sample:mnist-6k", "unknown sample 'mnist-6k' (known: mnist-5k)"),
        ("s3://my-bucket/key?versionId=1", "an s3:// source needs an object key and no '?query'"),
        ("s3://my-bucket/key#part", "an s3:// source needs an object key and no '?query' or '#fragment'"),
        ("s3://a..b/key", "'a..b' is not a valid S3 bucket name"),
        ("/data/", "the path names a directory, not a file"),
        ("file:///", "the path names a directory, not a file"),
        ("file:///data%2F", "the path names a directory, not a file"),
        ("https://example.com:99999/x", "Port out of range 0-65535"),
        ("s3://my-bucket/\u3000", "an s3:// source needs an object key"),
        ("http://localhost/x", "does not match the forms the param accepts"),
    ],
)
def test_dataset_source_is_rejected_as_upload_dataset_would(value: str, reason: str) -> None:
    """Every form the param's pattern lets through must parse (upload_dataset parses it again)."""
    from sagemaker_k8s.dataset.sources import parse_source

    err = problems({"dataset_source": value})
    assert err.param == "dataset_source"
    (problem,) = err.problems
    assert problem.startswith("param 'dataset_source': ") and reason in problem, problem
    if "does not match" not in reason:  # parse_source's own reason
        with pytest.raises(ValueError, match=re.escape(reason)):
            parse_source(value)


def test_dataset_source_variable_is_parsed_too() -> None:
    err = problems({}, {**VARIABLES, VAR_DATASET_SOURCE: "sample:mnist-6k"})
    assert err.param == "dataset_source"
    assert err.problems == (
        f"Airflow Variable {VAR_DATASET_SOURCE!r} (fallback for param 'dataset_source'): "
        "'sample:mnist-6k' is not a usable source: unknown sample 'mnist-6k' (known: mnist-5k)",
    )


def test_unknown_params_are_ignored() -> None:
    assert resolve({"cleanup": True}).region == "us-west-2"


def test_round_trip_through_json() -> None:
    cfg = resolve({"namespace": "ml", "endpoint_name": "xgb-ep", "hyperparameters": {"num_round": 5}})
    data = json.loads(json.dumps(cfg.to_dict()))
    again = RunConfig.from_dict(data)
    assert again == cfg
    assert again.origins == cfg.origins
    assert set(data) == set(PARAM_SPECS) | {"origins"}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("region"),
        lambda d: d.update(extra=1),
        lambda d: d.update(region="x\ny"),
        lambda d: d.update(instance_count=99),
        lambda d: d.update(bucket=None),
    ],
)
def test_from_dict_revalidates(mutate: Any) -> None:
    data = resolve().to_dict()
    mutate(data)
    with pytest.raises(ConfigError):
        RunConfig.from_dict(data)


def test_from_dict_rejects_non_mapping() -> None:
    with pytest.raises(ConfigError):
        RunConfig.from_dict(["x"])  # type: ignore[arg-type]


def test_run_config_is_immutable() -> None:
    cfg = resolve()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.region = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.hyperparameters["eta"] = 1  # type: ignore[index]


def test_params_mapping_is_not_mutated() -> None:
    params = {"hyperparameters": {"num_round": 10.0}}
    resolve(params)
    assert params == {"hyperparameters": {"num_round": 10.0}}


@pytest.mark.parametrize(
    "value",
    [
        "{{ var.value.secret }}",
        "us-west-2; rm -rf /",
        "us-west-2\nkind: Secret",
        '{"region": "x"}',
        "\u0443\u0441-west-2",  # Cyrillic look-alikes
    ],
)
def test_hostile_region_rejected_everywhere(value: str) -> None:
    assert problems({"region": value}).param == "region"
    assert problems({}, {**VARIABLES, VAR_REGION: value}).param == "region"


def test_run_config_survives_pickle_and_deepcopy() -> None:
    import copy
    import pickle

    cfg = resolve({"hyperparameters": {"num_round": 7}})
    unpickled = pickle.loads(pickle.dumps(cfg))  # noqa: S301 - our own bytes
    for clone in (copy.deepcopy(cfg), unpickled):
        assert clone == cfg
        with pytest.raises(TypeError):
            clone.hyperparameters.update(x=1)  # type: ignore[attr-defined]


def test_dataset_source_falls_back_to_variable_then_public_copy() -> None:
    from sagemaker_k8s.config.run_config import DEFAULT_DATASET_SOURCE

    base = {
        "region": "us-west-2",
        "bucket": "my-bucket",
        "execution_role_arn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
    }
    from_variable = resolve_run_config(
        base, variables={"sagemaker_k8s_dataset_source": "sample:mnist-5k"}, connection_region=None
    )
    assert from_variable.dataset_source == "sample:mnist-5k"
    assert from_variable.origins["dataset_source"] == "Airflow Variable 'sagemaker_k8s_dataset_source'"
    default = resolve_run_config(base, variables={}, connection_region=None)
    assert default.dataset_source == DEFAULT_DATASET_SOURCE
    assert default.origins["dataset_source"] == "default"


# -- DAG-run conf keys ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "conf",
    [{}, {"region": "us-east-1"}, dict.fromkeys(PARAM_SPECS), {"hyperparameters": {"num_round": 3}}],
)
def test_conf_made_of_params_is_accepted(conf: dict) -> None:
    check_conf_keys(conf, PARAM_SPECS)


@pytest.mark.parametrize(
    ("conf", "param", "hint"),
    [
        ({"num_round": 7}, "num_round", '{"hyperparameters": {"num_round": 7}}'),
        ({"eta": 0.3}, "eta", '{"hyperparameters": {"eta": 0.3}}'),
        ({"s3_prefx": "x"}, "s3_prefx", "did you mean 's3_prefix'?"),
        ({"instance_typ": "ml.m5.large"}, "instance_typ", "did you mean 'instance_type'?"),
        ({"zzz": 1}, "zzz", "Known params: batch_scoring, bucket, "),
        ({"k" * 500: 1}, "k" * 57 + "...", "unknown conf key"),
    ],
)
def test_unknown_conf_key_is_refused_with_the_fix(conf: dict, param: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_conf_keys(conf, PARAM_SPECS)
    assert info.value.param == param
    assert hint in str(info.value)
    assert "k" * 100 not in str(info.value)  # overlong keys are cut


def test_every_unknown_key_is_listed() -> None:
    with pytest.raises(ConfigError) as info:
        check_conf_keys({"b": 1, "a": 2, "region": "us-east-1"}, PARAM_SPECS)
    assert info.value.problems == ("unknown conf key 'a'", "unknown conf key 'b'")
