"""Typed, self-validating run values for the manifest builders.

A spec that exists is valid: every field is checked on construction (names, ARNs, S3 parts,
counts, hyperparameters, labels), so a bad value fails with a ``ConfigError`` naming the field
before any manifest is built or any API is called.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.naming import (
    is_valid_dns_label,
    is_valid_k8s_name,
    is_valid_label_key,
    is_valid_label_value,
    is_valid_sagemaker_name,
)
from sagemaker_k8s.patterns import REGION_PATTERN, ROLE_ARN_PATTERN

HyperValue = str | int | float
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_HP_NAME, _MAX_HP_VALUE = 256, 2500  # SageMaker's limits for HyperParameters keys and values


def _check(ok: bool, param: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{param}: {message}", param=param)


def _plain(value: object, param: str, *, allow_space: bool = False) -> None:
    """A non-empty string without control characters (and without whitespace unless allowed)."""
    _check(isinstance(value, str) and bool(value), param, "must be a non-empty string")
    assert isinstance(value, str)
    bad = _CONTROL.search(value) or (None if allow_space else re.search(r"\s", value))
    _check(bad is None, param, f"must not contain whitespace or control characters: {value[:80]!r}")


def _positive_int(value: object, param: str) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        param,
        f"must be an integer >= 1, got {value!r}",
    )


def _metadata_maps(labels: Mapping[str, str], annotations: Mapping[str, str]) -> None:
    for key, value in labels.items():
        _check(is_valid_label_key(key), "labels", f"invalid label key {str(key)[:80]!r}")
        _check(is_valid_label_value(value), "labels", f"invalid value for label {key!r}: {str(value)[:80]!r}")
    for key, value in annotations.items():
        _check(is_valid_label_key(key), "annotations", f"invalid annotation key {str(key)[:80]!r}")
        _check(isinstance(value, str), "annotations", f"value for {key!r} must be a string")


def _common(spec: Any) -> None:
    _check(
        is_valid_k8s_name(spec.cr_name) and len(spec.cr_name) <= 63,
        "cr_name",
        f"{spec.cr_name!r} is not a valid name",
    )
    _check(
        is_valid_dns_label(spec.namespace),
        "namespace",
        f"{str(spec.namespace)[:80]!r} is not a DNS-1123 label",
    )
    _check(
        isinstance(spec.region, str) and re.fullmatch(REGION_PATTERN, spec.region) is not None,
        "region",
        f"{str(spec.region)[:80]!r} is not an AWS region",
    )
    _check(
        isinstance(spec.role_arn, str) and re.fullmatch(ROLE_ARN_PATTERN, spec.role_arn) is not None,
        "role_arn",
        f"{str(spec.role_arn)[:120]!r} is not an IAM role ARN",
    )
    _plain(spec.image, "image")
    _plain(spec.instance_type, "instance_type")
    _check(spec.instance_type.startswith("ml."), "instance_type", "must be a SageMaker ml.* instance type")
    _positive_int(spec.instance_count, "instance_count")
    _metadata_maps(spec.labels, spec.annotations)


def hyperparameter_value(name: str, value: HyperValue) -> str:
    """SageMaker takes hyperparameters as strings; convert without surprises (no bools, no NaN)."""
    param = f"hyperparameters.{name}"
    _check(not isinstance(value, bool), param, "booleans are ambiguous; pass 0/1 or a string")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        _check(math.isfinite(value), param, "must be a finite number")
        text = str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ConfigError(f"{param}: must be a string or a number, got {type(value).__name__}", param=param)
    _check(
        len(text) <= _MAX_HP_VALUE and not _CONTROL.search(text),
        param,
        f"must be <= {_MAX_HP_VALUE} characters without control characters",
    )
    return text


@dataclass(frozen=True)
class TrainingJobSpec:
    """Run values for one legacy TrainingJob (see :func:`build_training_job`)."""

    cr_name: str
    namespace: str
    job_name: str
    region: str
    role_arn: str
    image: str
    bucket: str
    prefix: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    hyperparameters: Mapping[str, HyperValue] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _common(self)
        _check(
            is_valid_sagemaker_name(self.job_name),
            "job_name",
            f"{str(self.job_name)[:80]!r} is not a valid SageMaker job name",
        )
        _plain(self.bucket, "bucket")
        _check("/" not in self.bucket, "bucket", "must be a bucket name, not a path")
        _check(isinstance(self.prefix, str), "prefix", "must be a string")
        if self.prefix:
            _plain(self.prefix, "prefix")
            _check(
                not self.prefix.startswith("/") and not self.prefix.endswith("/") and "//" not in self.prefix,
                "prefix",
                f"{self.prefix[:80]!r} must not start or end with '/' or contain '//'",
            )
        _positive_int(self.volume_size_gb, "volume_size_gb")
        _positive_int(self.max_runtime_seconds, "max_runtime_seconds")
        for name, value in self.hyperparameters.items():
            _check(
                isinstance(name, str) and 0 < len(name) <= _MAX_HP_NAME and not _CONTROL.search(name),
                "hyperparameters",
                f"invalid hyperparameter name {str(name)[:80]!r}",
            )
            hyperparameter_value(name, value)

    def s3_uri(self, *parts: str) -> str:
        """``s3://bucket/prefix/<parts>/`` -- always with a trailing slash (a key prefix)."""
        return "s3://" + "/".join(p for p in (self.bucket, self.prefix, *parts) if p) + "/"


@dataclass(frozen=True)
class HostingDeploymentSpec:
    """Run values for one legacy HostingDeployment (see :func:`build_hosting_deployment`)."""

    cr_name: str
    namespace: str
    endpoint_name: str
    region: str
    role_arn: str
    image: str
    model_data_url: str
    instance_type: str
    instance_count: int
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _common(self)
        _check(
            is_valid_sagemaker_name(self.endpoint_name),
            "endpoint_name",
            f"{str(self.endpoint_name)[:80]!r} is not a valid SageMaker endpoint name",
        )
        _plain(self.model_data_url, "model_data_url")
        _check(
            re.fullmatch(r"s3://[^/]+/.+", self.model_data_url) is not None,
            "model_data_url",
            f"{self.model_data_url[:120]!r} must be s3://bucket/key",
        )
