"""Read a dataset source's bytes: the bundled sample, an S3 object, a local file or a URL."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from sagemaker_k8s.dataset.sources import DatasetSource, bundled_sample_path

MAX_DOWNLOAD_BYTES = 1 << 30
URL_TIMEOUT_SECONDS = 120


def read_source(source: DatasetSource, aws_hook) -> bytes:
    if source.kind == "sample":
        return bundled_sample_path(source.location).read_bytes()
    if source.kind == "s3":
        return aws_hook.read_object(source.bucket, source.key)
    if source.kind == "file":
        path = Path(source.location)
        if path.stat().st_size > MAX_DOWNLOAD_BYTES:
            raise ValueError(f"dataset file {path} is larger than {MAX_DOWNLOAD_BYTES} bytes")
        return path.read_bytes()
    # parse_source admits only https:// (and http:// to loopback) here
    request = urllib.request.Request(source.location, headers={"User-Agent": "sagemaker-k8s-airflow"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=URL_TIMEOUT_SECONDS) as response:  # noqa: S310
        data = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"dataset at {source.location} is larger than {MAX_DOWNLOAD_BYTES} bytes")
    return data
