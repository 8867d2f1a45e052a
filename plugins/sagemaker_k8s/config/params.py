r"""The run-time parameters: one JSON schema per param, used by the DAG's ``Param``s and by
:func:`run_config.resolve_run_config` alike, so the UI form and the task-side check can never disagree.

Imported at DAG parse time: only plain data here; jsonschema is imported when validating.
Patterns (``patterns``, and the ``dataset_source`` one here) are anchored and use only characters
that cannot carry YAML, JSON or Jinja syntax, so hostile strings are rejected at the door; where
free text is unavoidable it is carried as data. Like those in ``patterns``, they spell classes out
(``[0-9]``) so that Python's ``re``, ``re.ASCII`` and ECMA-262 read them alike. Numbers must be
finite (``_number``): JSON Schema lets NaN and Infinity through ``minimum``/``maximum``, and
SageMaker takes neither.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sagemaker_k8s.constants import (
    VAR_BUCKET,
    VAR_CLUSTER,
    VAR_DATASET_SOURCE,
    VAR_EXECUTION_ROLE,
    VAR_NAMESPACE,
    VAR_OPERATOR_ROLE,
    VAR_REGION,
)
from sagemaker_k8s.patterns import (
    DNS_LABEL_PATTERN,
    ECR_IMAGE_PATTERN,
    GATE_METRIC_PATTERN,
    REGION_PATTERN,
    ROLE_ARN_PATTERN,
    SAGEMAKER_NAME_PATTERN,
)
from sagemaker_k8s.tunable import TUNABLE_RANGES

_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# dataset_source: exactly what dataset.sources.parse_source accepts, or less (resolve_run_config runs
# both; tests/unit/test_params.py checks the sample names). Written out for parse_source's rules:
# str.strip() first (so no whitespace where stripping would change the meaning), then per form.
_WS = r"\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # str.strip()'s, beyond \x00-\x20
_S3_BUCKET = r"[a-z0-9]([a-z0-9-]|\.(?!\.)){1,61}[a-z0-9]"  # no ".."
_S3_KEY = r"[^\x00-\x20\x7f" + _WS + r"?#][^\x00-\x1f\x7f?#]*"  # non-empty, no ?query or #fragment
_FILE_PATH = r"/([^\x00-\x1f\x7f]*[^\x00-\x20\x7f" + _WS + r"/])"  # absolute, not a directory
_FILE_URL_PATH = r"/(?![^?#]*%2[Ff]$)([^\x00-\x1f\x7f?#]*[^\x00-\x20\x7f" + _WS + r"/?#])"  # %2F is a "/"
_PORT = r"([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"  # 0-65535
DATASET_SAMPLES = ("mnist-5k",)  # dataset.sources.SAMPLES (not imported: parse time)
_SOURCE_FORMS = (
    "sample:(" + "|".join(DATASET_SAMPLES) + ")",
    "s3://" + _S3_BUCKET + "/" + _S3_KEY,
    "file://" + _FILE_URL_PATH,
    _FILE_PATH,
    "https://[A-Za-z0-9.-]+(:" + _PORT + r")?/[^\x00-\x20\x7f]*",
)
DATASET_SOURCE_PATTERN = "^(" + "|".join(_SOURCE_FORMS) + ")$"

TRAINING_INSTANCE_TYPES = (
    "ml.m4.xlarge", "ml.m4.2xlarge", "ml.m4.4xlarge", "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge",
    "ml.m5.4xlarge", "ml.c4.xlarge", "ml.c4.2xlarge", "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge",
    "ml.r5.large", "ml.r5.xlarge", "ml.r5.2xlarge",
)  # fmt: skip
HOSTING_INSTANCE_TYPES = (
    "ml.t2.medium", "ml.t2.large", "ml.m4.xlarge", "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge",
    "ml.c4.large", "ml.c4.xlarge", "ml.c5.large", "ml.c5.xlarge", "ml.r5.large", "ml.r5.xlarge",
)  # fmt: skip

#: The walkthrough's XGBoost hyperparameters (samples/xgboost-mnist-trainingjob.yaml).
WALKTHROUGH_HYPERPARAMETERS: dict[str, int | float | str] = {
    "max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "silent": 0,
    "objective": "multi:softmax", "num_class": 10, "num_round": 10,
}  # fmt: skip


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": ["null", schema["type"]]}


#: The largest finite float: as a ``maximum`` it rejects Infinity and integers no float can hold.
FINITE_MAX = 1.7976931348623157e308
#: Only NaN is both >= 1 and <= 0 (every comparison with NaN is false), so ``not`` this rejects NaN.
_NAN = {"type": "number", "minimum": 1, "maximum": 0, "description": "NaN (not a number)"}


def _number(**bounds: float) -> dict[str, Any]:
    """A JSON Schema number that must also be finite: not NaN, not Infinity, not 10**3000."""
    return {"type": "number", "maximum": FINITE_MAX, **bounds, "not": _NAN}


@dataclass(frozen=True)
class ParamSpec:
    """One param: its JSON schema, a description for the form, its default and its Variable fallback."""

    schema: dict[str, Any]
    description: str
    default: Any
    variable: str | None = None

    def param_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``airflow.sdk.Param``: ``Param(**spec.param_kwargs())``.

        Airflow validates Params with Python's ``re``, whose ``$`` also matches before a final
        newline; ``$(?!\n)`` means "end of text" in both Python and the form's JavaScript.
        """
        return {
            "default": copy.deepcopy(self.default),
            "description": self.description,
            **_strict_ends(copy.deepcopy(self.schema)),
        }


def _strict_ends(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict_ends(v) for k, v in schema.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
            out["pattern"] = pattern + "(?!\n)"
        return out
    if isinstance(schema, list):
        return [_strict_ends(item) for item in schema]
    return schema


def _fallback(variable: str, then: str = "") -> str:
    return f" Null: use the Airflow Variable {variable}" + (f", then {then}." if then else ".")


#: SageMaker's XGBoost tuning example (what the issue calls the sample's ranges).
DEFAULT_TUNING_RANGES: dict[str, dict[str, float]] = {
    "eta": {"min": 0, "max": 1},
    "min_child_weight": {"min": 1, "max": 10},
    "alpha": {"min": 0, "max": 2},
    "max_depth": {"min": 1, "max": 10},
}
DEFAULT_TUNING: dict[str, Any] = {
    "max_jobs": 4,
    "max_parallel": 2,
    "strategy": "Bayesian",
    "objective_metric": "validation:merror",
    "objective_type": "Minimize",
    "ranges": DEFAULT_TUNING_RANGES,
}
#: The gate metric computed by the batch-scoring step (accuracy of the batch transform on the test split).
TEST_ACCURACY_METRIC = "test:accuracy"


def _range_schema(kind: str, low: float, high: float) -> dict[str, Any]:
    bound = (
        {"type": "integer", "minimum": low, "maximum": high}
        if kind == "integer"
        else _number(minimum=low, maximum=high)
    )
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["min", "max"],
        "properties": {"min": bound, "max": copy.deepcopy(bound)},
    }


TUNING_SCHEMA: dict[str, Any] = {
    "type": ["null", "object"],
    "additionalProperties": False,
    "properties": {
        "max_jobs": {"type": "integer", "minimum": 1, "maximum": 100},
        "max_parallel": {"type": "integer", "minimum": 1, "maximum": 10},
        "strategy": {"type": "string", "enum": ["Bayesian", "Random"]},
        "objective_metric": {"type": "string", "pattern": GATE_METRIC_PATTERN, "maxLength": 255},
        "objective_type": {"type": "string", "enum": ["Minimize", "Maximize"]},
        "ranges": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {name: _range_schema(*spec) for name, spec in TUNABLE_RANGES.items()},
        },
    },
}


#: Which SageMaker controller the CRs are for: the walkthrough's operator or its successor, ACK.
FLAVOURS = ("auto", "legacy", "ack")

PARAM_SPECS: dict[str, ParamSpec] = {
    "flavour": ParamSpec(
        {"type": "string", "enum": list(FLAVOURS)},
        "Which controller runs the jobs: legacy (the SageMaker Operators for Kubernetes, "
        "sagemaker.aws.amazon.com/v1), ack (the ACK SageMaker controller, "
        "sagemaker.services.k8s.aws/v1alpha1) or auto "
        "(whichever one's CRDs are installed; both or neither fails with the fix).",
        "auto",
    ),
    "region": ParamSpec(
        _nullable({"type": "string", "pattern": REGION_PATTERN, "maxLength": 25}),
        "AWS region of the SageMaker jobs, e.g. us-west-2."
        + _fallback(VAR_REGION, "the AWS connection's region"),
        None,
        VAR_REGION,
    ),
    "cluster_name": ParamSpec(
        _nullable({"type": "string", "pattern": r"^[0-9A-Za-z][A-Za-z0-9_-]*$", "maxLength": 100}),
        "EKS cluster running the operator (for the IAM OIDC checks)." + _fallback(VAR_CLUSTER),
        None,
        VAR_CLUSTER,
    ),
    "namespace": ParamSpec(
        _nullable({"type": "string", "pattern": DNS_LABEL_PATTERN, "maxLength": 63}),
        "Kubernetes namespace for the custom resources." + _fallback(VAR_NAMESPACE, "'default'"),
        None,
        VAR_NAMESPACE,
    ),
    "bucket": ParamSpec(
        _nullable(
            {
                "type": "string",
                "pattern": "^" + _BUCKET + "$",
                "minLength": 3,
                "maxLength": 63,
                "not": {
                    "type": "string",
                    "description": "two adjacent periods, an IP address, or a reserved prefix (xn--, sthree-)"
                    " or suffix (-s3alias, --ol-s3)",
                    "anyOf": [
                        {"pattern": r"\.\."},
                        {"pattern": r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$"},
                        {"pattern": "^xn--"},
                        {"pattern": "^sthree-"},
                        {"pattern": "-s3alias$"},
                        {"pattern": "--ol-s3$"},
                    ],
                },
            }
        ),
        "S3 bucket for the dataset and the model." + _fallback(VAR_BUCKET),
        None,
        VAR_BUCKET,
    ),
    "s3_prefix": ParamSpec(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$",
            "not": {"type": "string", "pattern": r"(^|/)\.{1,2}(/|$)", "description": "'.' or '..' segments"},
        },
        "Key prefix in the bucket, no leading or trailing '/': train/, validation/ and output/ go under it.",
        "xgboost-mnist",
    ),
    "execution_role_arn": ParamSpec(
        _nullable({"type": "string", "pattern": ROLE_ARN_PATTERN, "maxLength": 2048}),
        "IAM role SageMaker assumes to run the job and host the model." + _fallback(VAR_EXECUTION_ROLE),
        None,
        VAR_EXECUTION_ROLE,
    ),
    "operator_role_arn": ParamSpec(
        _nullable({"type": "string", "pattern": ROLE_ARN_PATTERN, "maxLength": 2048}),
        "IAM role of the operator's service account (IRSA), checked by preflight."
        + _fallback(VAR_OPERATOR_ROLE, "the service account's annotation"),
        None,
        VAR_OPERATOR_ROLE,
    ),
    "instance_type": ParamSpec(
        {"type": "string", "enum": list(TRAINING_INSTANCE_TYPES)}, "Training instance type.", "ml.m4.xlarge"
    ),
    "instance_count": ParamSpec({"type": "integer", "minimum": 1, "maximum": 10}, "Training instances.", 1),
    "volume_size_gb": ParamSpec(
        {"type": "integer", "minimum": 1, "maximum": 16384}, "ML storage volume per instance, GB.", 5
    ),
    "hosting_instance_type": ParamSpec(
        {"type": "string", "enum": list(HOSTING_INSTANCE_TYPES)}, "Endpoint instance type.", "ml.r5.large"
    ),
    "hyperparameters": ParamSpec(
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "num_round": {"type": "integer", "minimum": 1, "maximum": 1000},
                "max_depth": {"type": "integer", "minimum": 0, "maximum": 20},
                "eta": _number(minimum=0, maximum=1),
                "gamma": _number(minimum=0),
                "min_child_weight": _number(minimum=0),
                "subsample": _number(exclusiveMinimum=0, maximum=1),
                "objective": {"type": "string", "enum": ["multi:softmax", "multi:softprob"]},
                "num_class": {"type": "integer", "minimum": 2, "maximum": 100},
                "silent": {"type": "integer", "minimum": 0, "maximum": 1},
            },
        },
        "XGBoost hyperparameters; they override the template's values name by name.",
        dict(WALKTHROUGH_HYPERPARAMETERS),
    ),
    "max_runtime_seconds": ParamSpec(
        {"type": "integer", "minimum": 1, "maximum": 2419200}, "stoppingCondition.maxRuntimeInSeconds.", 86400
    ),
    "endpoint_name": ParamSpec(
        _nullable({"type": "string", "pattern": SAGEMAKER_NAME_PATTERN, "maxLength": 63}),
        "The pipeline's one SageMaker endpoint, updated in place by every promotion. Null: derived from "
        "the DAG id (stable across runs).",
        None,
    ),
    "dataset_source": ParamSpec(
        _nullable({"type": "string", "pattern": DATASET_SOURCE_PATTERN, "maxLength": 2048}),
        "Training data: sample:mnist-5k (bundled), s3://bucket/key.pkl.gz, file:///abs/path, /abs/path or "
        "https://..."
        + _fallback(
            VAR_DATASET_SOURCE,
            "the public copy s3://sagemaker-sample-files/datasets/image/MNIST/mnist.pkl.gz",
        ),
        None,
        VAR_DATASET_SOURCE,
    ),
    "training_image": ParamSpec(
        _nullable({"type": "string", "pattern": ECR_IMAGE_PATTERN, "maxLength": 512}),
        "ECR training image. Null: the region's built-in XGBoost image (xgboost:1).",
        None,
    ),
    "smoke_test_rows": ParamSpec(
        {"type": "integer", "minimum": 1, "maximum": 1000},
        "Rows sent to the endpoint by the smoke test.",
        200,
    ),
    "gate_metric": ParamSpec(
        {"type": "string", "pattern": GATE_METRIC_PATTERN, "maxLength": 255},
        "Training metric (SageMaker's FinalMetricDataList) that decides whether the new model replaces "
        f"the one serving, or {TEST_ACCURACY_METRIC} (batch-scoring accuracy on the test split; maximize).",
        "validation:merror",
    ),
    "gate_direction": ParamSpec(
        {"type": "string", "enum": ["minimize", "maximize"]},
        "Whether a lower (minimize, e.g. an error rate) or higher (maximize) gate_metric is better.",
        "minimize",
    ),
    "min_improvement": ParamSpec(
        _number(minimum=0, maximum=1e6),
        "How much better than the champion, in gate_metric units, the new model must be to be promoted.",
        0.0,
    ),
    "force_promote": ParamSpec(
        {"type": "boolean"}, "Promote the new model whatever the gate says (still smoke-tested).", False
    ),
    "require_approval": ParamSpec(
        {"type": "boolean"},
        "Wait for a person to approve the promotion in the Airflow UI (Reject or no answer keeps the "
        "champion).",
        False,
    ),
    "min_accuracy": ParamSpec(
        _number(minimum=0, maximum=1),
        "Smoke-test accuracy the promoted model must reach on the live endpoint, else it is rolled back.",
        0.8,
    ),
    "keep_training_jobs": ParamSpec(
        {"type": "integer", "minimum": 1, "maximum": 1000},
        "Finished TrainingJob CRs of this pipeline kept after a successful run (the champion's always is).",
        10,
    ),
    "tuning": ParamSpec(
        TUNING_SCHEMA,
        "Null: train one model. An object: tune instead, with a HyperparameterTuningJob, and use its best "
        "training job. Keys (each optional, defaults shown): max_jobs 4, max_parallel 2, strategy "
        "Bayesian|Random, objective_metric validation:merror, objective_type Minimize|Maximize, ranges "
        '{"eta": {"min": 0, "max": 1}, "min_child_weight": {"min": 1, "max": 10}, "alpha": {"min": 0, '
        '"max": 2}, "max_depth": {"min": 1, "max": 10}} (replaces the default ranges as a whole; also '
        "lambda, gamma, subsample, num_round). Tuned names override hyperparameters.",
        None,
    ),
    "batch_scoring": ParamSpec(
        {"type": "boolean"},
        "Score the test split with a batch transform of the new model and report its accuracy "
        f"(gate_metric {TEST_ACCURACY_METRIC} compares on it).",
        True,
    ),
}
