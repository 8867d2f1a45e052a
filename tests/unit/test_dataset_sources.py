from __future__ import annotations

import pytest

from sagemaker_k8s.config.run_config import DEFAULT_DATASET_SOURCE
from sagemaker_k8s.dataset.sources import (
    ENV_DATA_DIR,
    DatasetSource,
    InvalidSourceError,
    bundled_sample_path,
    is_valid_bucket_name,
    parse_source,
)


@pytest.mark.parametrize(
    ("text", "kind", "location"),
    [
        ("sample:mnist-5k", "sample", "mnist-5k"),
        ("  sample:mnist-5k  ", "sample", "mnist-5k"),
        (DEFAULT_DATASET_SOURCE, "s3", DEFAULT_DATASET_SOURCE),
        ("s3://my-bucket/mnist.pkl.gz", "s3", "s3://my-bucket/mnist.pkl.gz"),
        ("s3://my.bucket.1/a/b/c/data", "s3", "s3://my.bucket.1/a/b/c/data"),
        ("file:///data/mnist.pkl.gz", "file", "/data/mnist.pkl.gz"),
        ("file://localhost/data/mnist.pkl.gz", "file", "/data/mnist.pkl.gz"),
        ("file:///data/with%20space.pkl.gz", "file", "/data/with space.pkl.gz"),
        ("/abs/path/mnist_5k.csv.gz", "file", "/abs/path/mnist_5k.csv.gz"),
        ("https://example.com/datasets/mnist.pkl.gz", "url", "https://example.com/datasets/mnist.pkl.gz"),
        ("https://example.com:8443/mnist?sig=abc", "url", "https://example.com:8443/mnist?sig=abc"),
        ("http://127.0.0.1:8000/mnist.pkl.gz", "url", "http://127.0.0.1:8000/mnist.pkl.gz"),
        ("http://localhost/mnist.pkl.gz", "url", "http://localhost/mnist.pkl.gz"),
        ("http://[::1]:9000/mnist.pkl.gz", "url", "http://[::1]:9000/mnist.pkl.gz"),
    ],
)
def test_accepted_forms(text: str, kind: str, location: str) -> None:
    source = parse_source(text)
    assert source == DatasetSource(kind, location)  # type: ignore[arg-type]
    assert parse_source(str(source)) == source  # str() is the canonical, re-parsable form


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "sample:mnist-70k",
        "sample:",
        "mnist.pkl.gz",
        "data/mnist.pkl.gz",
        "./mnist.pkl.gz",
        "~/mnist.pkl.gz",
        "s3://my-bucket/mnist.pkl.gz\n",
        "s3://my-bucket/mnist.pkl.gz\nrm -rf /",
        "/data/mnist\x00.pkl.gz",
        "s3://my-bucket",
        "s3://my-bucket/",
        "s3:///key",
        "s3://My_Bucket/key",
        "s3://ab/key",
        "s3://bucket..name/key",
        "S3://my-bucket/key",
        "s3://my-bucket/key?versionId=1",
        "file://remote-host/data/mnist.pkl.gz",
        "file://data/mnist.pkl.gz",
        "file:///data/dir/",
        "http://example.com/mnist.pkl.gz",
        "http://10.0.0.1/mnist.pkl.gz",
        "https:///nohost",
        "https://user:secret@example.com/mnist.pkl.gz",
        "https://example.com:notaport/x",
        "ftp://example.com/mnist.pkl.gz",
        "gs://bucket/mnist.pkl.gz",
        "C:\\data\\mnist.pkl.gz",
        "s3://[my-bucket/key",
        "https://[::1/x",
    ],
)
def test_rejected_forms_name_the_param_and_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidSourceError, match="dataset_source") as excinfo:
        parse_source(text)
    assert "sample:mnist-5k" in str(excinfo.value)
    assert "s3://bucket/key" in str(excinfo.value)
    assert excinfo.value.reason and excinfo.value.reason in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("sample:mnist-6k", "unknown sample 'mnist-6k' (known: mnist-5k)"),
        ("s3://a..b/key", "'a..b' is not a valid S3 bucket name"),
        ("file:///", "the path names a directory, not a file"),
        ("https://example.com:99999/x", "Port out of range 0-65535"),
        ("https://[::1/x", "Invalid IPv6 URL"),  # urlsplit's ValueError, as the same typed error
        ("x" * 3000, "relative paths are not accepted"),
    ],
)
def test_reason_says_why_without_the_value(text: str, reason: str) -> None:
    """resolve_run_config quotes ``reason`` next to a capped copy of the value: one bounded line."""
    with pytest.raises(InvalidSourceError) as excinfo:
        parse_source(text)
    assert excinfo.value.reason == reason


@pytest.mark.parametrize("value", [None, 5, b"sample:mnist-5k"])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(InvalidSourceError, match="dataset_source") as excinfo:
        parse_source(value)  # type: ignore[arg-type]
    assert excinfo.value.reason == f"not a string but {type(value).__name__}"


def test_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        DatasetSource("gcs", "gs://bucket/key")  # type: ignore[arg-type]


def test_s3_parts() -> None:
    source = parse_source(DEFAULT_DATASET_SOURCE)
    assert (source.bucket, source.key) == ("sagemaker-sample-files", "datasets/image/MNIST/mnist.pkl.gz")
    with pytest.raises(ValueError, match="not an s3"):
        _ = parse_source("sample:mnist-5k").bucket


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("sample:mnist-5k", "csv.gz"),
        (DEFAULT_DATASET_SOURCE, "pkl.gz"),
        ("/data/MNIST.PKL", "pkl.gz"),
        ("/data/mnist_5k.csv.gz", "csv.gz"),
        ("https://example.com/mnist.pkl.gz?sig=x", "pkl.gz"),
        ("https://example.com/download", None),
        ("s3://bucket/key/without/extension", None),
    ],
)
def test_format_from_name(text: str, fmt: str | None) -> None:
    assert parse_source(text).format == fmt


@pytest.mark.parametrize(
    ("name", "valid"),
    [("abc", True), ("my-bucket.v2", True), ("ab", False), ("a" * 64, False), ("-abc", False),
     ("abc-", False), ("ABC", False), ("a_b_c", False), ("a..b", False), ("abc\n", False)],
)  # fmt: skip
def test_bucket_names(name: str, valid: bool) -> None:
    assert is_valid_bucket_name(name) is valid


def test_bundled_sample_path_defaults_to_repo_include_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_DATA_DIR, raising=False)
    path = bundled_sample_path()
    assert path.parts[-3:] == ("include", "data", "mnist_5k.csv.gz")
    assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_bundled_sample_path_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "mnist_5k.csv.gz").write_bytes(b"x")
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path))
    assert bundled_sample_path() == tmp_path / "mnist_5k.csv.gz"


def test_bundled_sample_path_missing(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=ENV_DATA_DIR):
        bundled_sample_path()
    with pytest.raises(ValueError, match="unknown sample"):
        bundled_sample_path("mnist-70k")
