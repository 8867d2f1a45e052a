"""The tuning job CR (legacy ``HyperparameterTuningJob``, ACK ``HyperParameterTuningJob``): its manifest,
where its best model is, and a progress line.

``build_tuning_job`` sets fields structurally, like ``manifests.build``: the tuning job's name
(explicit and deterministic, at most 32 characters), the training job definition (image, role, the
train/validation channels, ``s3://<bucket>/<prefix>/output/``, resources, per-job stopping condition,
the static hyperparameters without the tuned names) and the tuning config (strategy, objective,
resource limits, parameter ranges; min/max are strings in the CRD, scaling ``Auto``).
``build_ack_tuning_job`` sets the same values in ACK's spelling (see ``manifests.ack``): the region
annotation instead of ``spec.region``, ``type_``, ``roleARN``, ``s3URI``, a static hyperparameter map.
ACK's status has no training job counters (they come from DescribeHyperParameterTuningJob) and ACK
launches no child TrainingJob CRs. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagemaker_k8s.manifests.ack import merge_hyperparameter_map, with_ack_annotations
from sagemaker_k8s.manifests.build import fill_job_definition, merge_hyperparameters, section, start_manifest
from sagemaker_k8s.manifests.flavours import ACK_HPO_JOB, LEGACY_HPO_JOB
from sagemaker_k8s.manifests.naming import is_valid_sagemaker_name
from sagemaker_k8s.manifests.specs import (
    HyperValue,
    TrainingJobSpec,
    _check,
    _positive_int,
    hyperparameter_value,
)
from sagemaker_k8s.tunable import TUNABLE_RANGES

STRATEGIES = ("Bayesian", "Random")
OBJECTIVE_TYPES = ("Minimize", "Maximize")
_RANGE_FIELDS = {"integer": "integerParameterRanges", "continuous": "continuousParameterRanges"}
#: (status.trainingJobStatusCounters key, what the progress line calls it)
_COUNTERS = (("completed", "completed"), ("inProgress", "in progress"), ("totalError", "errors"),
             ("stopped", "stopped"))  # fmt: skip
#: (status.trainingJobStatusCounters key, ``tuning_results.counters`` key): ACK's come from SageMaker
_DESCRIBED_COUNTERS = (("completed", "completed"), ("inProgress", "in_progress"),
                       ("totalError", "total_error"), ("stopped", "stopped"))  # fmt: skip


def _bound(name: str, which: str, value: object, kind: str) -> None:
    param = f"tuning.ranges.{name}.{which}"
    _check(
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
        param,
        f"must be a finite number, got {value!r}",
    )
    assert isinstance(value, int | float)
    if kind == "integer":
        _check(float(value).is_integer(), param, f"{name} takes integers, got {value!r}")
    low, high = TUNABLE_RANGES[name][1:]
    _check(low <= value <= high, param, f"must be between {low:g} and {high:g}, got {value!r}")


@dataclass(frozen=True)
class TuningJobSpec(TrainingJobSpec):
    """Run values for one tuning job (see :func:`build_tuning_job`, :func:`build_ack_tuning_job`).

    The training fields describe every training job the tuning job launches (``job_name`` is the
    *tuning* job's name, <= 32 characters); ``hyperparameters`` are the run's static ones, which
    the tuned names override.
    """

    max_jobs: int = 1
    max_parallel: int = 1
    strategy: str = "Bayesian"
    objective_metric: str = "validation:merror"
    objective_type: str = "Minimize"
    ranges: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(
            is_valid_sagemaker_name(self.job_name, LEGACY_HPO_JOB.name_max_length),
            "job_name",
            f"{str(self.job_name)[:80]!r} is not a valid tuning job name (<= 32 characters)",
        )
        _positive_int(self.max_jobs, "tuning.max_jobs")
        _positive_int(self.max_parallel, "tuning.max_parallel")
        _check(self.max_parallel <= self.max_jobs, "tuning.max_parallel", "must not exceed max_jobs")
        _check(self.strategy in STRATEGIES, "tuning.strategy", f"must be one of {STRATEGIES}")
        _check(self.objective_type in OBJECTIVE_TYPES, "tuning.objective_type", f"one of {OBJECTIVE_TYPES}")
        metric = self.objective_metric
        _check(
            isinstance(metric, str) and 0 < len(metric) <= 255 and not any(c.isspace() for c in metric),
            "tuning.objective_metric",
            f"must be a metric name without whitespace, got {str(metric)[:80]!r}",
        )
        _check(isinstance(self.ranges, Mapping) and bool(self.ranges), "tuning.ranges", "must name a range")
        for name, bounds in self.ranges.items():
            _check(name in TUNABLE_RANGES, "tuning.ranges", f"{str(name)[:80]!r} is not tunable")
            _check(
                isinstance(bounds, Mapping) and set(bounds) == {"min", "max"},
                f"tuning.ranges.{name}",
                "must be {min, max}",
            )
            kind = TUNABLE_RANGES[name][0]
            for which in ("min", "max"):
                _bound(name, which, bounds[which], kind)
            _check(bounds["min"] <= bounds["max"], f"tuning.ranges.{name}", "min must not exceed max")

    @property
    def max_runtime_total(self) -> int:
        """The longest the whole tuning job can run: per-job runtime x rounds of parallel jobs."""
        return self.max_runtime_seconds * math.ceil(self.max_jobs / self.max_parallel)


def range_value(name: str, value: HyperValue) -> str:
    """A range bound as the CRD's string: integers (and integral floats of integer ranges) without ".0"."""
    if TUNABLE_RANGES[name][0] == "integer":
        return str(int(value))
    return hyperparameter_value(name, value)


def parameter_ranges(ranges: Mapping[str, Mapping[str, float]]) -> dict[str, list[dict[str, str]]]:
    """``parameterRanges`` for ``ranges`` (sorted by name, so a reattach compares equal)."""
    out: dict[str, list[dict[str, str]]] = {
        "integerParameterRanges": [],
        "continuousParameterRanges": [],
        "categoricalParameterRanges": [],
    }
    for name in sorted(ranges):
        out[_RANGE_FIELDS[TUNABLE_RANGES[name][0]]].append(
            {
                "name": name,
                "minValue": range_value(name, ranges[name]["min"]),
                "maxValue": range_value(name, ranges[name]["max"]),
                "scalingType": "Auto",
            }
        )
    return out


def _fill_config(config: dict[str, Any], spec: TuningJobSpec, type_field: str) -> None:
    config["strategy"] = spec.strategy
    config["hyperParameterTuningJobObjective"] = {
        type_field: spec.objective_type,
        "metricName": spec.objective_metric,
    }
    config["resourceLimits"] = {
        "maxNumberOfTrainingJobs": spec.max_jobs,
        "maxParallelTrainingJobs": spec.max_parallel,
    }
    config["parameterRanges"] = parameter_ranges(spec.ranges)


def build_tuning_job(template: Mapping[str, Any], spec: TuningJobSpec) -> dict[str, Any]:
    """A legacy HyperparameterTuningJob manifest for ``spec`` from ``hyperparametertuningjob.yaml``."""
    obj = start_manifest(template, LEGACY_HPO_JOB, spec)
    body = obj["spec"]
    body["hyperParameterTuningJobName"] = spec.job_name  # explicit: else the controller writes the uid
    body["region"] = spec.region
    _fill_config(section(body, "hyperParameterTuningJobConfig"), spec, "type")
    definition = section(body, "trainingJobDefinition")
    fill_job_definition(definition, spec, role_field="roleArn", uri_field="s3Uri")
    static = merge_hyperparameters(definition.get("staticHyperParameters"), spec.hyperparameters)
    definition["staticHyperParameters"] = [hp for hp in static if hp["name"] not in spec.ranges]
    return obj


def build_ack_tuning_job(template: Mapping[str, Any], spec: TuningJobSpec) -> dict[str, Any]:
    """An ACK HyperParameterTuningJob manifest for ``spec`` from ``ack/hyperparametertuningjob.yaml``:
    the legacy job's values, with the region annotation, ``type_``, ``roleARN``, ``s3URI`` and a
    ``staticHyperParameters`` map."""
    obj = start_manifest(template, ACK_HPO_JOB, spec)
    with_ack_annotations(obj, spec.region)
    body = obj["spec"]
    body["hyperParameterTuningJobName"] = spec.job_name  # ACK generates no names
    _fill_config(section(body, "hyperParameterTuningJobConfig"), spec, "type_")
    definition = section(body, "trainingJobDefinition")
    fill_job_definition(definition, spec, role_field="roleARN", uri_field="s3URI")
    static = merge_hyperparameter_map(definition.get("staticHyperParameters"), spec.hyperparameters)
    definition["staticHyperParameters"] = {k: v for k, v in static.items() if k not in spec.ranges}
    return obj


def best_model_uri(s3_output_path: str, best_job_name: str) -> str:
    """``<s3OutputPath>/<job>/output/model.tar.gz`` with exactly one slash after the output path
    (SageMaker's convention; the legacy operator concatenates without adding one)."""
    if not isinstance(s3_output_path, str) or not s3_output_path.startswith("s3://"):
        raise ValueError(f"not an S3 output path: {str(s3_output_path)[:120]!r}")
    if not is_valid_sagemaker_name(best_job_name):
        raise ValueError(f"not a training job name: {str(best_job_name)[:80]!r}")
    return f"{s3_output_path.rstrip('/')}/{best_job_name}/output/model.tar.gz"


def _count(value: object) -> str:
    if value is None:
        return "0"  # the operator's Go structs omit zero counters
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    return "?"


def _short(value: object, limit: int = 200) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return text if len(text) <= limit else text[:limit] + "…"


def render_progress(status: Mapping[str, Any] | None) -> str:
    """One log line for a tuning CR's status: its state, the training jobs' counters, the best job."""
    status = status if isinstance(status, Mapping) else {}
    state = _short(status.get(LEGACY_HPO_JOB.status_table.field), 80) or "(no status yet)"
    counters = status.get("trainingJobStatusCounters")
    if isinstance(counters, Mapping) and counters:
        jobs = "training jobs: " + ", ".join(f"{_count(counters.get(k))} {label}" for k, label in _COUNTERS)
    else:
        jobs = "no training jobs yet"
    best = status.get("bestTrainingJob")
    best_name = _short(best.get("trainingJobName"), 80) if isinstance(best, Mapping) else None
    line = f"{state}; {jobs}; best so far: {best_name or 'none yet'}"
    reason = _short(status.get("additional")) or _short(status.get("failureReason"))  # legacy, ACK
    return f"{line} ({reason})" if reason else line


def render_ack_progress(status: Mapping[str, Any] | None, counters: Mapping[str, Any] | None) -> str:
    """:func:`render_progress` for an ACK tuning CR, whose status has no counters: ``counters`` are
    DescribeHyperParameterTuningJob's (``aws.tuning.counters``, snake_case; None: none yet)."""
    status = dict(status) if isinstance(status, Mapping) else {}
    status.pop("trainingJobStatusCounters", None)
    if isinstance(counters, Mapping):
        status["trainingJobStatusCounters"] = {k: counters.get(ours) for k, ours in _DESCRIBED_COUNTERS}
    return render_progress(status)
