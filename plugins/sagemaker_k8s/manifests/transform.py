"""Batch scoring's two custom resources: a stand-alone ``Model`` and the transform job using it.

Built like the other manifests (``manifests.build``): from a template, by setting fields, from specs
that validate themselves on construction. The transform names a *SageMaker* model (``spec.modelName``).
Legacy (``Model`` + ``BatchTransformJob``): the generated name the Model controller reports in
``status.sageMakerModelName``, never the Model CR's own name. ACK (``Model`` + ``TransformJob``): ACK
generates no names, so the Model's ``spec.modelName`` is the CR's own (deterministic) name and the
transform can name it before the model exists; no ``spec.region``, the region annotation instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.ack import with_ack_annotations
from sagemaker_k8s.manifests.build import section, start_manifest
from sagemaker_k8s.manifests.flavours import (
    ACK_MODEL,
    ACK_TRANSFORM_JOB,
    LEGACY_BATCH_TRANSFORM_JOB,
    LEGACY_MODEL,
    ResourceKind,
)
from sagemaker_k8s.manifests.naming import is_valid_dns_label, is_valid_sagemaker_name
from sagemaker_k8s.manifests.specs import _check, _metadata_maps, _plain
from sagemaker_k8s.patterns import REGION_PATTERN, ROLE_ARN_PATTERN

#: ``s3://bucket/key-prefix/``: a folder, so that ``test/`` never also matches ``test-labels/``.
_S3_FOLDER = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(?:[^/\s]+/)+")
_S3_OBJECT = re.compile(r"s3://[^/\s]+/\S+")


def _placement(spec: Any) -> None:
    _check(is_valid_dns_label(spec.cr_name), "cr_name", f"{str(spec.cr_name)[:80]!r} is not a valid CR name")
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
    _metadata_maps(spec.labels, spec.annotations)


def _sagemaker_name(value: object, param: str) -> None:
    _check(is_valid_sagemaker_name(value), param, f"{str(value)[:80]!r} is not a valid SageMaker name")


@dataclass(frozen=True)
class ModelSpec:
    """Run values for one stand-alone Model serving ``model_data_url`` (see :func:`build_model` and
    :func:`build_ack_model`; on ACK ``cr_name`` is also the SageMaker model's name)."""

    cr_name: str
    namespace: str
    region: str
    role_arn: str
    image: str
    model_data_url: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _placement(self)
        _check(
            isinstance(self.role_arn, str) and re.fullmatch(ROLE_ARN_PATTERN, self.role_arn) is not None,
            "role_arn",
            f"{str(self.role_arn)[:120]!r} is not an IAM role ARN",
        )
        _plain(self.image, "image")
        _plain(self.model_data_url, "model_data_url")
        _check(
            _S3_OBJECT.fullmatch(self.model_data_url) is not None and not self.model_data_url.endswith("/"),
            "model_data_url",
            f"{self.model_data_url[:120]!r} must be s3://bucket/key",
        )


@dataclass(frozen=True)
class BatchTransformSpec:
    """Run values for one transform job (:func:`build_batch_transform_job`, :func:`build_ack_transform_job`).

    ``model_name`` is the SageMaker model's name; ``input_uri`` and ``output_uri`` are S3 folders
    (``s3://bucket/prefix/``, trailing slash required: an input prefix without it would also read
    every key that merely starts with it).
    """

    cr_name: str
    namespace: str
    region: str
    job_name: str
    model_name: str
    input_uri: str
    output_uri: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _placement(self)
        _sagemaker_name(self.job_name, "job_name")
        _sagemaker_name(self.model_name, "model_name")
        for param in ("input_uri", "output_uri"):
            value = getattr(self, param)
            _plain(value, param)
            _check(
                _S3_FOLDER.fullmatch(value) is not None and "//" not in value[5:],
                param,
                f"{value[:120]!r} must be an S3 folder: s3://bucket/prefix/ (with the trailing '/')",
            )
        _check(
            not self.output_uri.startswith(self.input_uri),
            "output_uri",
            f"{self.output_uri[:120]!r} lies inside the input {self.input_uri[:120]!r}",
        )


def _model(template: Mapping[str, Any], kind: ResourceKind, spec: ModelSpec) -> dict[str, Any]:
    obj = start_manifest(template, kind, spec)
    if "containers" in obj["spec"]:
        raise ConfigError("the Model template must use primaryContainer, not containers", param="template")
    return obj


def build_model(template: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """A legacy Model manifest for ``spec`` from the ``model.yaml`` template (a ``primaryContainer``)."""
    obj = _model(template, LEGACY_MODEL, spec)
    body = obj["spec"]
    body["region"] = spec.region
    body["executionRoleArn"] = spec.role_arn
    container = section(body, "primaryContainer")
    container["image"] = spec.image
    container["modelDataUrl"] = spec.model_data_url
    return obj


def build_ack_model(template: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """An ACK Model manifest for ``spec`` from ``ack/model.yaml``: ``spec.modelName`` is ``spec.cr_name``."""
    _sagemaker_name(spec.cr_name, "cr_name")
    obj = _model(template, ACK_MODEL, spec)
    with_ack_annotations(obj, spec.region)
    body = obj["spec"]
    body["modelName"] = spec.cr_name
    body["executionRoleARN"] = spec.role_arn
    container = section(body, "primaryContainer")
    container["image"] = spec.image
    container["modelDataURL"] = spec.model_data_url
    return obj


def _transform(
    template: Mapping[str, Any], kind: ResourceKind, spec: BatchTransformSpec, uri_field: str
) -> dict[str, Any]:
    obj = start_manifest(template, kind, spec)
    body = obj["spec"]
    body["transformJobName"] = spec.job_name  # explicit: the controller tracks exactly this job
    body["modelName"] = spec.model_name
    source = section(section(section(body, "transformInput"), "dataSource"), "s3DataSource")
    source["s3DataType"] = "S3Prefix"
    source[uri_field] = spec.input_uri
    section(body, "transformOutput")["s3OutputPath"] = spec.output_uri
    if not isinstance(body.get("transformResources"), dict):
        raise ConfigError(f"the {kind.kind} template needs transformResources", param="template")
    return obj


def build_batch_transform_job(template: Mapping[str, Any], spec: BatchTransformSpec) -> dict[str, Any]:
    """A legacy BatchTransformJob manifest for ``spec`` from the ``batchtransformjob.yaml`` template."""
    obj = _transform(template, LEGACY_BATCH_TRANSFORM_JOB, spec, "s3Uri")
    obj["spec"]["region"] = spec.region
    return obj


def build_ack_transform_job(template: Mapping[str, Any], spec: BatchTransformSpec) -> dict[str, Any]:
    """An ACK TransformJob manifest for ``spec`` from the ``ack/transformjob.yaml`` template."""
    obj = _transform(template, ACK_TRANSFORM_JOB, spec, "s3URI")
    with_ack_annotations(obj, spec.region)
    return obj
