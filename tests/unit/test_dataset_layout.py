from __future__ import annotations

import hashlib

import numpy as np
import pytest

from sagemaker_k8s.dataset.layout import (
    CHANNELS,
    METADATA_KEY,
    DatasetArtifact,
    build_artifacts,
    channel_uri,
    object_keys,
    plan_upload,
    validate_prefix,
)
from sagemaker_k8s.dataset.mnist import Split, Splits

SHA_A, SHA_B = "a" * 64, "b" * 64


@pytest.mark.parametrize("prefix", ["xgboost", "mnist-data", "team/xgboost-mnist/v1", "a.b_c-d"])
def test_object_keys(prefix: str) -> None:
    assert object_keys(prefix) == {
        "train": f"{prefix}/train/examples",
        "validation": f"{prefix}/validation/examples",
        "test": f"{prefix}/test/examples",
    }


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("", "non-empty"),
        (None, "non-empty"),
        ("/xgboost", "must not start or end with '/'"),
        ("xgboost/", "must not start or end with '/'"),
        ("/", "must not start or end with '/'"),
        ("a//b", "'//'"),
        ("a b", "whitespace"),
        ("a\nb", "whitespace"),
        ("a\\b", "backslashes"),
        ("a/../b", r"'\.\.'"),
        ("./a", r"'\.'"),
        ("x" * 1005, "longer than"),
    ],
)
def test_invalid_prefixes(prefix: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_prefix(prefix)
    with pytest.raises(ValueError, match=message):
        object_keys(prefix)


@pytest.mark.parametrize(
    ("bucket", "prefix", "channel", "uri"),
    [
        ("my-bucket", "xgboost", "train", "s3://my-bucket/xgboost/train/"),
        ("my-bucket", "xgboost", "validation", "s3://my-bucket/xgboost/validation/"),
        ("b.example", "a/b", "test", "s3://b.example/a/b/test/"),
    ],
)
def test_channel_uri(bucket: str, prefix: str, channel: str, uri: str) -> None:
    assert channel_uri(bucket, prefix, channel) == uri
    assert object_keys(prefix)[channel].startswith(uri.removeprefix(f"s3://{bucket}/"))


@pytest.mark.parametrize(
    ("bucket", "prefix", "channel", "message"),
    [
        ("My_Bucket", "xgboost", "train", "bucket name"),
        ("my-bucket", "xgboost/", "train", "prefix"),
        ("my-bucket", "xgboost", "training", "unknown channel"),
    ],
)
def test_channel_uri_errors(bucket: str, prefix: str, channel: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        channel_uri(bucket, prefix, channel)


def test_artifact_from_body() -> None:
    art = DatasetArtifact.from_body("p/train/examples", b"1,2\n")
    assert art == DatasetArtifact("p/train/examples", hashlib.sha256(b"1,2\n").hexdigest(), 4)
    assert art.metadata == {METADATA_KEY: art.sha256} == {"sha256": art.sha256}


@pytest.mark.parametrize(("sha", "size"), [("A" * 64, 1), ("a" * 63, 1), ("g" * 64, 1), (SHA_A, -1)])
def test_artifact_validation(sha: str, size: int) -> None:
    with pytest.raises(ValueError, match=r"sha256|size"):
        DatasetArtifact("k", sha, size)


ARTS = [DatasetArtifact("p/train/examples", SHA_A, 10), DatasetArtifact("p/test/examples", SHA_B, 5)]


@pytest.mark.parametrize(
    ("remote", "upload", "unchanged"),
    [
        ({}, ["p/train/examples", "p/test/examples"], []),
        ({"p/train/examples": None, "p/test/examples": None}, ["p/train/examples", "p/test/examples"], []),
        ({"p/train/examples": SHA_A, "p/test/examples": SHA_B}, [], ["p/train/examples", "p/test/examples"]),
        ({"p/train/examples": SHA_A.upper(), "p/test/examples": f" {SHA_B} "}, [],
         ["p/train/examples", "p/test/examples"]),
        ({"p/train/examples": SHA_A, "p/test/examples": SHA_A}, ["p/test/examples"], ["p/train/examples"]),
        ({"p/train/examples": "", "p/test/examples": SHA_B}, ["p/train/examples"], ["p/test/examples"]),
        ({"p/train/examples": SHA_B, "other/key": SHA_A}, ["p/train/examples", "p/test/examples"], []),
    ],
)  # fmt: skip
def test_plan_upload(remote: dict[str, str | None], upload: list[str], unchanged: list[str]) -> None:
    to_upload, same = plan_upload(ARTS, remote)
    assert [a.key for a in to_upload] == upload
    assert [a.key for a in same] == unchanged


def test_plan_upload_rejects_duplicate_keys() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        plan_upload([ARTS[0], ARTS[0]], {})


def _splits(seed: int) -> Splits:
    rng = np.random.default_rng(seed)

    def split(n: int) -> Split:
        return Split(rng.integers(0, 256, (n, 784), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8))

    return Splits(split(6), split(3), split(2))


def test_build_artifacts_layout() -> None:
    built = build_artifacts(_splits(1), "xgboost")
    assert [a.key for a, _ in built] == [f"xgboost/{c}/examples" for c in CHANNELS]
    for (art, body), (channel, split) in zip(built, _splits(1).items(), strict=True):
        assert art == DatasetArtifact.from_body(art.key, body)
        lines = body.decode().splitlines()
        assert len(lines) == len(split)
        cells = [line.split(",") for line in lines]
        if channel == "test":  # batch-transform input: features only
            assert all(len(c) == 784 for c in cells)
            assert [int(v) for v in cells[0]] == split.X[0].tolist()
        else:  # label first
            assert all(len(c) == 785 for c in cells)
            assert [int(c[0]) for c in cells] == split.y.tolist()


def test_rerun_with_identical_data_uploads_nothing() -> None:
    first = build_artifacts(_splits(1), "xgboost")
    stored = {art.key: art.metadata[METADATA_KEY] for art, _ in first}
    to_upload, unchanged = plan_upload([a for a, _ in build_artifacts(_splits(1), "xgboost")], stored)
    assert to_upload == [] and len(unchanged) == 3
    to_upload, _ = plan_upload([a for a, _ in build_artifacts(_splits(2), "xgboost")], stored)
    assert len(to_upload) == 3


def test_build_artifacts_validates_prefix() -> None:
    with pytest.raises(ValueError, match="prefix"):
        build_artifacts(_splits(1), "/xgboost/")


@pytest.mark.parametrize("prefix", ["xgboost-mnist", "a/b/c"])
def test_labels_live_outside_every_channel_prefix(prefix):
    from sagemaker_k8s.dataset.layout import labels_artifact

    X = np.zeros((3, 784), np.uint8)
    split = Split(X, np.array([7, 0, 9], np.uint8))
    artifact, body = labels_artifact(Splits(split, split, split), prefix)
    assert body == b"7\n0\n9\n"
    assert artifact.key == f"{prefix}/test-labels/labels"
    assert not any(
        artifact.key.startswith(f"{prefix}/{channel}/") for channel in ("train", "validation", "test")
    )
