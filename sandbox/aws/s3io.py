"""Reading and writing moto's S3 in-process (the simulator runs inside the moto server's process)."""

from __future__ import annotations

from urllib.parse import urlparse

from moto.s3.models import FakeKey, s3_backends
from moto.utilities.utils import get_partition


class S3Missing(Exception):
    pass


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme not in ("s3", "https") or not parsed.netloc:
        raise ValueError(f"not an S3 URI: {uri!r}")
    if parsed.scheme == "https":  # https://bucket.s3.region.amazonaws.com/key
        return parsed.netloc.split(".", 1)[0], parsed.path.lstrip("/")
    return parsed.netloc, parsed.path.lstrip("/")


def _backend(account: str, region: str):
    return s3_backends[account][get_partition(region)]


def _bucket(account: str, region: str, bucket: str):
    backend = _backend(account, region)
    try:
        found = backend.get_bucket(bucket)
    except Exception as e:  # MissingBucket
        raise S3Missing(f"bucket {bucket} does not exist") from e
    if found is None:
        raise S3Missing(f"bucket {bucket} does not exist")
    return found


def list_prefix(account: str, region: str, uri: str) -> list[tuple[str, bytes]]:
    """Every object (key, bytes) under an ``s3://bucket/prefix`` URI, sorted by key; no folder markers."""
    bucket_name, prefix = split_s3_uri(uri)
    bucket = _bucket(account, region, bucket_name)
    out = []
    for key_name, key in list(bucket.keys.items()):
        if not isinstance(key, FakeKey) or not key_name.startswith(prefix):
            continue
        if key_name.endswith("/") and key.size == 0:
            continue
        out.append((key_name, bytes(key.value)))
    return sorted(out)


def get_object(account: str, region: str, uri: str) -> bytes:
    bucket_name, key_name = split_s3_uri(uri)
    bucket = _bucket(account, region, bucket_name)
    key = bucket.keys.get(key_name) if key_name else None
    if not isinstance(key, FakeKey):
        raise S3Missing(f"no object at {uri}")
    return bytes(key.value)


def put_object(account: str, region: str, uri: str, data: bytes) -> None:
    bucket_name, key_name = split_s3_uri(uri)
    _bucket(account, region, bucket_name)
    _backend(account, region).put_object(bucket_name, key_name, data)
