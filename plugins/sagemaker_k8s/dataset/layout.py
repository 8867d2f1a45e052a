"""Where the CSV splits live in S3, and which of them actually need uploading.

The layout is the walkthrough upload script's: one object per channel, literally named ``examples``,
under ``{prefix}/{train|validation|test}/``. Train and validation carry the label in the first column;
test has no label (it is the batch-transform input). The TrainingJob's channels point at the folders
(``s3://bucket/prefix/train/``), see :func:`channel_uri`.

Uploads are idempotent: each object is written with its body's SHA-256 in the user metadata
(``x-amz-meta-sha256``), and :func:`plan_upload` skips every key whose stored digest already matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sagemaker_k8s.dataset.csvfmt import to_csv_bytes
from sagemaker_k8s.dataset.mnist import SPLIT_NAMES, Splits
from sagemaker_k8s.dataset.sources import is_valid_bucket_name

CHANNELS = SPLIT_NAMES  # ("train", "validation", "test")
#: Channels whose CSV has the label first; the others are features only.
LABELLED_CHANNELS = frozenset({"train", "validation"})
OBJECT_NAME = "examples"
#: User-metadata key holding the body's SHA-256 (hex); S3 returns it as ``Metadata["sha256"]``.
METADATA_KEY = "sha256"
CONTENT_TYPE = "text/csv"

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_BAD_PREFIX_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
# S3 keys are at most 1024 bytes; leave room for "/validation/examples".
_MAX_PREFIX_BYTES = 1024 - len("/validation/examples")


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a usable S3 key prefix, else raise ``ValueError`` saying why."""
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"S3 prefix must be a non-empty string, got {prefix!r}")
    why = None
    if prefix.startswith("/") or prefix.endswith("/"):
        why = "it must not start or end with '/' (write 'xgboost-mnist', not '/xgboost-mnist/')"
    elif "//" in prefix:
        why = "it must not contain '//'"
    elif _BAD_PREFIX_CHARS.search(prefix):
        why = "it must not contain whitespace, control characters or backslashes"
    elif any(part in (".", "..") for part in prefix.split("/")):
        why = "it must not contain '.' or '..' path segments"
    elif len(prefix.encode("utf-8")) > _MAX_PREFIX_BYTES:
        why = f"it is longer than {_MAX_PREFIX_BYTES} bytes"
    if why:
        raise ValueError(f"S3 prefix {prefix!r} is invalid: {why}")
    return prefix


def object_keys(prefix: str) -> dict[str, str]:
    """``{"train": "{prefix}/train/examples", "validation": ..., "test": ...}``."""
    validate_prefix(prefix)
    return {channel: f"{prefix}/{channel}/{OBJECT_NAME}" for channel in CHANNELS}


def channel_uri(bucket: str, prefix: str, channel: str) -> str:
    """The S3 folder a TrainingJob channel reads, e.g. ``s3://bucket/prefix/train/``."""
    if not is_valid_bucket_name(bucket):
        raise ValueError(f"{bucket!r} is not a valid S3 bucket name")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    return f"s3://{bucket}/{validate_prefix(prefix)}/{channel}/"


@dataclass(frozen=True)
class DatasetArtifact:
    """One object to upload: its key, the SHA-256 (hex) and size in bytes of its body."""

    key: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        if not _SHA256_RE.fullmatch(self.sha256):
            raise ValueError(f"sha256 of {self.key!r} must be 64 lower-case hex digits, got {self.sha256!r}")
        if self.size < 0:
            raise ValueError(f"size of {self.key!r} must be >= 0, got {self.size}")

    @classmethod
    def from_body(cls, key: str, body: bytes) -> DatasetArtifact:
        return cls(key=key, sha256=hashlib.sha256(body).hexdigest(), size=len(body))

    @property
    def metadata(self) -> dict[str, str]:
        """The user metadata to store with the object (``Metadata=`` in PutObject)."""
        return {METADATA_KEY: self.sha256}


def plan_upload(
    artifacts: Iterable[DatasetArtifact], remote: Mapping[str, str | None]
) -> tuple[list[DatasetArtifact], list[DatasetArtifact]]:
    """Split ``artifacts`` into ``(to_upload, unchanged)``, keeping their order.

    ``remote`` maps a key to the ``sha256`` found in the existing object's metadata, or to ``None``
    when the object is absent or carries no digest; keys missing from ``remote`` count as absent.
    An artifact is unchanged only when the stored digest equals its own, so a rerun with identical
    data uploads nothing, and anything unknown is re-uploaded.
    """
    to_upload: list[DatasetArtifact] = []
    unchanged: list[DatasetArtifact] = []
    seen: set[str] = set()
    for artifact in artifacts:
        if artifact.key in seen:
            raise ValueError(f"duplicate artifact key {artifact.key!r}")
        seen.add(artifact.key)
        stored = remote.get(artifact.key)
        same = isinstance(stored, str) and stored.strip().lower() == artifact.sha256
        (unchanged if same else to_upload).append(artifact)
    return to_upload, unchanged


def build_artifacts(splits: Splits, prefix: str) -> list[tuple[DatasetArtifact, bytes]]:
    """CSV bodies for every channel, in ``CHANNELS`` order: labelled train/validation, unlabelled test."""
    keys = object_keys(prefix)
    built = []
    for channel, split in splits.items():
        body = to_csv_bytes(split.X, split.y if channel in LABELLED_CHANNELS else None)
        built.append((DatasetArtifact.from_body(keys[channel], body), body))
    return built


#: The test split's labels, one per line, kept outside every channel prefix so that neither a
#: TrainingJob channel nor a batch transform over ``test/`` reads them. The smoke test scores with it.
LABELS_KEY = "test-labels/labels"


def labels_key(prefix: str) -> str:
    return f"{validate_prefix(prefix)}/{LABELS_KEY}"


def labels_artifact(splits: Splits, prefix: str) -> tuple[DatasetArtifact, bytes]:
    body = "".join(f"{int(v)}\n" for v in splits.test.y.tolist()).encode()
    return DatasetArtifact.from_body(labels_key(prefix), body), body
