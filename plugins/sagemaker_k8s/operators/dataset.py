"""Convert MNIST to the walkthrough's CSV layout and upload it to S3, idempotently.

``<prefix>/train/examples`` and ``<prefix>/validation/examples``: label first, no header;
``<prefix>/test/examples``: pixels only (the batch-transform input). The test labels go to
``<prefix>/test-labels/labels`` (outside every channel prefix) for the endpoint smoke test.
Each object carries the sha256 of its body as metadata; a rerun with the same data uploads nothing.
An S3 call that still fails after botocore's retries raises ``S3ObjectError`` (names the object and
S3's error code; retryable): the next try uploads only the objects not stored yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.resource_task import AwsHookMixin


class SageMakerK8sDatasetUploadOperator(AwsHookMixin, BaseOperator):
    """Returns ``{"train", "validation", "test", "test_labels"}`` S3 URIs plus what was uploaded."""

    template_fields: Sequence[str] = ("config",)
    ui_color = "#e0ecff"

    def __init__(self, *, config: dict | Any, aws_conn_id: str | None = "aws_default", **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.aws_conn_id = aws_conn_id

    def execute(self, context) -> dict:
        from sagemaker_k8s.config.run_config import RunConfig
        from sagemaker_k8s.dataset.layout import build_artifacts, channel_uri, labels_artifact, plan_upload
        from sagemaker_k8s.dataset.mnist import DatasetFormatError, load_splits
        from sagemaker_k8s.dataset.sources import parse_source
        from sagemaker_k8s.exceptions import S3ObjectError
        from sagemaker_k8s.hooks.source import read_source

        cfg = RunConfig.from_dict(self.config)
        try:
            source = parse_source(cfg.dataset_source)
        except ValueError as e:
            raise AirflowFailException(str(e)) from e
        self.log.info("reading dataset %s", source)
        try:
            splits = load_splits(source, read_source(source, self.aws))
        except DatasetFormatError as e:
            raise AirflowFailException(f"dataset {source} is not usable: {e}") from e
        artifacts = [*build_artifacts(splits, cfg.s3_prefix), labels_artifact(splits, cfg.s3_prefix)]
        bodies = {artifact.key: body for artifact, body in artifacts}
        remote = {artifact.key: self.aws.stored_sha256(cfg.bucket, artifact.key) for artifact, _ in artifacts}
        to_upload, unchanged = plan_upload([a for a, _ in artifacts], remote)
        for done, artifact in enumerate(to_upload):
            self.log.info("uploading %d bytes to s3://%s/%s", artifact.size, cfg.bucket, artifact.key)
            try:
                self.aws.upload(cfg.bucket, artifact.key, bodies[artifact.key], artifact.sha256)
            except S3ObjectError:
                self.log.error(
                    "%d of %d objects are stored; a retry uploads only the %d others",
                    len(unchanged) + done,
                    len(artifacts),
                    len(to_upload) - done,
                )
                raise
        for artifact in unchanged:
            self.log.info(
                "s3://%s/%s is up to date (sha256 %s)", cfg.bucket, artifact.key, artifact.sha256[:12]
            )
        result = {
            **{ch: channel_uri(cfg.bucket, cfg.s3_prefix, ch) for ch in ("train", "validation", "test")},
            "test_labels": f"s3://{cfg.bucket}/{artifacts[-1][0].key}",
            "sizes": dict(zip(("train", "validation", "test"), splits.sizes, strict=False)),
            "uploaded": [a.key for a in to_upload],
            "unchanged": [a.key for a in unchanged],
        }
        extra = {
            "uri": f"s3://{cfg.bucket}/{cfg.s3_prefix}/",
            "source": str(source),
            "run_id": context["run_id"],
            **{k: result[k] for k in ("train", "validation", "test", "test_labels", "sizes")},
        }
        for asset in self.outlets:  # the dataset Asset (see sagemaker_k8s.assets)
            context["outlet_events"][asset].extra = extra
        return result
