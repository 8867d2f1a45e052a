"""Where the MNIST data comes from: the ``dataset_source`` param, parsed and validated.

Accepted forms (anything else is a ``ValueError`` that names ``dataset_source``):

* ``sample:mnist-5k``: the 5,000-digit sample bundled in ``include/data/mnist_5k.csv.gz``;
* ``s3://bucket/key.pkl.gz``: an S3 object, e.g. ``run_config.DEFAULT_DATASET_SOURCE``;
* ``file:///abs/path`` or ``/abs/path``: a local file;
* ``https://host/path``: a web download (plain ``http://`` only for ``localhost``/``127.0.0.1``/``[::1]``).

Nothing here performs I/O except :func:`bundled_sample_path`, which only checks that a file exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

SourceKind = Literal["sample", "s3", "file", "url"]
_KINDS: tuple[SourceKind, ...] = ("sample", "s3", "file", "url")

#: Names accepted after ``sample:``, mapped to their file in the data directory.
SAMPLES = {"mnist-5k": "mnist_5k.csv.gz"}
#: Overrides the directory :func:`bundled_sample_path` looks in (default: the repo's ``include/data``).
ENV_DATA_DIR = "SAGEMAKER_K8S_DATA_DIR"

ACCEPTED_FORMS = (
    "'sample:mnist-5k', 's3://bucket/key', 'file:///absolute/path', '/absolute/path', "
    "'https://host/path' (http:// only for localhost)"
)

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# S3 bucket naming rules (general purpose buckets): 3-63 chars of [a-z0-9.-], alphanumeric at both ends.
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class DatasetSource:
    """A validated dataset location.

    ``location`` is canonical per kind: the sample name (``mnist-5k``), the full ``s3://bucket/key``
    URI, an absolute filesystem path, or the full URL. ``str(source)`` parses back to an equal source.
    """

    kind: SourceKind
    location: str

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"DatasetSource.kind must be one of {', '.join(_KINDS)}, got {self.kind!r}")

    def __str__(self) -> str:
        return f"sample:{self.location}" if self.kind == "sample" else self.location

    @property
    def bucket(self) -> str:
        return self._s3_parts()[0]

    @property
    def key(self) -> str:
        return self._s3_parts()[1]

    @property
    def format(self) -> Literal["csv.gz", "pkl.gz"] | None:
        """The payload format implied by the name, or ``None`` when only the content can tell."""
        if self.kind == "sample":
            return "csv.gz"
        name = urlsplit(self.location).path if self.kind in ("s3", "url") else self.location
        name = name.lower()
        if name.endswith((".pkl.gz", ".pkl", ".pickle.gz", ".pickle")):
            return "pkl.gz"
        if name.endswith((".csv.gz", ".csv")):
            return "csv.gz"
        return None

    def _s3_parts(self) -> tuple[str, str]:
        if self.kind != "s3":
            raise ValueError(f"dataset source {self} is not an s3:// location")
        bucket, _, key = self.location.removeprefix("s3://").partition("/")
        return bucket, key


def is_valid_bucket_name(name: str) -> bool:
    """S3 general-purpose bucket naming: 3-63 of ``[a-z0-9.-]``, alphanumeric ends, no ``..``."""
    return bool(_BUCKET_RE.fullmatch(name)) and ".." not in name


class InvalidSourceError(ValueError):
    """``dataset_source`` is not one of the accepted forms; ``reason`` says why, without the value."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _invalid(text: str, why: str) -> InvalidSourceError:
    return InvalidSourceError(
        f"dataset_source {text!r} is invalid: {why}. Accepted forms: {ACCEPTED_FORMS}.", reason=why
    )


def parse_source(text: str) -> DatasetSource:
    """Parse the ``dataset_source`` param into a :class:`DatasetSource` (see the module docstring)."""
    if not isinstance(text, str):
        raise InvalidSourceError(
            f"dataset_source must be a string, got {type(text).__name__}. Accepted forms: {ACCEPTED_FORMS}.",
            reason=f"not a string but {type(text).__name__}",
        )
    if _CONTROL_RE.search(text):
        raise _invalid(text, "it contains a newline or another control character")
    value = text.strip()
    if not value:
        raise _invalid(text, "it is empty")

    if value.startswith("sample:"):
        name = value.removeprefix("sample:")
        if name not in SAMPLES:
            raise _invalid(text, f"unknown sample {name!r} (known: {', '.join(sorted(SAMPLES))})")
        return DatasetSource("sample", name)

    if value.startswith("/"):
        return DatasetSource("file", _check_path(text, value))

    if ":" not in value:
        raise _invalid(text, "relative paths are not accepted")

    try:
        parts = urlsplit(value)
    except ValueError as e:  # e.g. "Invalid IPv6 URL"
        raise _invalid(text, str(e)) from e
    scheme = parts.scheme.lower()
    if scheme == "s3":
        if not value.startswith("s3://"):
            raise _invalid(text, "write the scheme as lower-case 's3://'")
        bucket, _, key = value.removeprefix("s3://").partition("/")
        if not is_valid_bucket_name(bucket):
            raise _invalid(text, f"{bucket!r} is not a valid S3 bucket name")
        if not key or parts.query or parts.fragment:
            raise _invalid(text, "an s3:// source needs an object key and no '?query' or '#fragment'")
        return DatasetSource("s3", f"s3://{bucket}/{key}")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise _invalid(text, "a file:// URL must look like file:///absolute/path")
        return DatasetSource("file", _check_path(text, unquote(parts.path)))
    if scheme in ("http", "https"):
        try:
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as e:
            raise _invalid(text, str(e)) from e
        if not host:
            raise _invalid(text, "the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise _invalid(text, "credentials in the URL are not accepted")
        if scheme == "http" and host not in _LOOPBACK_HOSTS:
            raise _invalid(text, "plain http:// is only accepted for localhost; use https://")
        return DatasetSource("url", value)
    raise _invalid(text, f"the scheme {parts.scheme!r} is not supported")


def _check_path(text: str, path: str) -> str:
    if not path.startswith("/"):
        raise _invalid(text, "the path must be absolute")
    if path.endswith("/"):
        raise _invalid(text, "the path names a directory, not a file")
    return path


def bundled_sample_path(name: str = "mnist-5k") -> Path:
    """The bundled sample file: ``$SAGEMAKER_K8S_DATA_DIR/<file>`` or the repo's ``include/data/<file>``.

    Raises ``FileNotFoundError`` (saying where it looked) when the file is missing.
    """
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r} (known: {', '.join(sorted(SAMPLES))})")
    override = os.environ.get(ENV_DATA_DIR)
    # plugins/sagemaker_k8s/dataset/sources.py -> the project root holding include/ next to plugins/.
    data_dir = Path(override) if override else Path(__file__).resolve().parents[3] / "include" / "data"
    path = data_dir / SAMPLES[name]
    if not path.is_file():
        hint = f"${ENV_DATA_DIR}={override}" if override else f"set ${ENV_DATA_DIR} to its directory"
        raise FileNotFoundError(f"bundled dataset sample {path} not found ({hint})")
    return path
