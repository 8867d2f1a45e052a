from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from sagemaker_k8s.dataset.mnist import (
    DEFAULT_SEED,
    N_FEATURES,
    DatasetFormatError,
    Split,
    Splits,
    UnsafePickleError,
    gunzip,
    load_mnist_pickle,
    load_sample_csv_gz,
    load_splits,
    split_sample,
)
from sagemaker_k8s.dataset.sources import bundled_sample_path, parse_source

# --- building pickles like the classic mnist.pkl.gz -------------------------------------------------


class _Py2StylePickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes bytes as protocol-2 BINSTRINGs, as Python 2 did (no ``_codecs.encode`` global)."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def classic_pickle(obj: object, *, style: str = "py2") -> bytes:
    """gzip of ``obj`` pickled as the classic file (py2 style, ``numpy.core`` spelling) or by numpy 2."""
    if style == "py2":
        buf = io.BytesIO()
        _Py2StylePickler(buf, protocol=2).dump(obj)
        raw = buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    else:
        raw = pickle.dumps(obj, protocol=int(style))
    return gzip.compress(raw, mtime=0)


def pixels_and_labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, N_FEATURES), dtype=np.uint8)
    X[:, :100] = 0  # MNIST-like blank border
    return X, rng.integers(0, 10, size=n).astype(np.int64)


def as_classic(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (X.astype(np.float32) / 256).astype(np.float32), y


@pytest.fixture(scope="module")
def tiny_uint8() -> list[tuple[np.ndarray, np.ndarray]]:
    return [pixels_and_labels(n, seed) for n, seed in ((7, 1), (3, 2), (4, 3))]


@pytest.mark.parametrize("style", ["py2", "3", "4"])
def test_classic_pickle_loads_exactly(style: str, tiny_uint8) -> None:
    obj = tuple(as_classic(X, y) for X, y in tiny_uint8)
    if style == "py2":
        assert b"numpy.core.multiarray" in gzip.decompress(classic_pickle(obj, style=style))
    splits = load_mnist_pickle(classic_pickle(obj, style=style))
    assert splits.sizes == {"train": 7, "validation": 3, "test": 4}
    for (_, split), (X, y) in zip(splits.items(), tiny_uint8, strict=True):
        assert split.X.dtype == np.uint8 and split.y.dtype == np.uint8
        np.testing.assert_array_equal(split.X, X)
        np.testing.assert_array_equal(split.y, y)


def test_classic_pickle_without_gzip_and_with_one_point_zero(tiny_uint8) -> None:
    obj = [list(as_classic(X, y)) for X, y in tiny_uint8]
    obj[0][0][0, :3] = [1.0, 255 / 256, 0.5]
    splits = load_mnist_pickle(gzip.decompress(classic_pickle(obj)))
    assert splits.train.X[0, :3].tolist() == [255, 255, 128]


def test_uint8_features_pass_through(tiny_uint8) -> None:
    splits = load_mnist_pickle(classic_pickle(tuple(tiny_uint8), style="4"))
    np.testing.assert_array_equal(splits.test.X, tiny_uint8[2][0])


class _Evil:
    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize(
    "make",
    [
        lambda marker: _Evil(os.system, f"touch {marker}"),
        lambda marker: _Evil(eval, f"open({str(marker)!r}, 'w')"),
        lambda marker: _Evil(Path.touch, marker),
        lambda marker: _Evil(np.save, str(marker), np.zeros(1)),
    ],
    ids=["os.system", "builtins.eval", "pathlib.Path.touch", "numpy.save"],
)
def test_malicious_pickle_is_refused_before_running(make, protocol: int, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = gzip.compress(pickle.dumps(((make(marker), None), None, None), protocol=protocol))
    with pytest.raises(pickle.UnpicklingError, match="only numpy arrays are allowed"):
        load_mnist_pickle(payload)
    with pytest.raises(UnsafePickleError):
        load_splits(parse_source("s3://bucket/mnist.pkl.gz"), payload)
    assert not marker.exists() and not tmp_path.with_suffix(".npy").exists()


@pytest.mark.parametrize(
    ("style", "name"), [("2", "_codecs.encode"), ("5", "numpy._core.numeric._frombuffer")]
)
def test_python3_protocol_2_and_protocol_5_are_refused(tiny_uint8, style: str, name: str) -> None:
    # Python 3 writes bytes in protocol 2 through _codecs.encode; numpy pickles arrays for protocol 5
    # through _frombuffer. Neither is on the allow-list: the classic file (Python 2) needs neither.
    obj = tuple(as_classic(X, y) for X, y in tiny_uint8)
    with pytest.raises(UnsafePickleError, match=name):
        load_mnist_pickle(classic_pickle(obj, style=style))


def _classic(tiny_uint8, **change: object) -> list[list[object]]:
    obj = [list(as_classic(X, y)) for X, y in tiny_uint8]
    for where, value in change.items():
        split, part = where.split("_")
        obj[("train", "validation", "test").index(split)][("X", "y").index(part)] = value
    return obj


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_X": np.zeros((2, 783), np.float32)}, "train features must be a non-empty"),
        ({"validation_X": np.zeros((0, N_FEATURES), np.float32)}, "validation features must be a non-empty"),
        ({"test_X": np.zeros(N_FEATURES, np.float32)}, "test features"),
        ({"train_X": np.full((7, N_FEATURES), -0.5, np.float32)}, r"must lie in \[0, 1\]"),
        ({"train_X": np.full((7, N_FEATURES), 1.5, np.float32)}, r"must lie in \[0, 1\]"),
        ({"train_X": np.full((7, N_FEATURES), np.nan, np.float32)}, r"must lie in \[0, 1\]"),
        ({"train_X": np.zeros((7, N_FEATURES), np.int32)}, "must be floats"),
        ({"train_y": np.zeros(6, np.int64)}, "train labels must be an integer array of shape"),
        ({"train_y": np.zeros(7, np.float32)}, "train labels must be an integer array"),
        ({"test_y": np.full(4, 10, np.int64)}, "test labels must be 0-9"),
        ({"test_y": np.full(4, -1, np.int64)}, "test labels must be 0-9"),
        ({"test_y": [1, 2, 3, 4]}, "test labels must be an integer array"),
    ],
)
def test_invalid_pickle_content(tiny_uint8, change: dict[str, object], message: str) -> None:
    with pytest.raises(DatasetFormatError, match=message):
        load_mnist_pickle(classic_pickle(_classic(tiny_uint8, **change), style="4"))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (gzip.compress(pickle.dumps(("a", "b")), mtime=0), "must hold"),
        (gzip.compress(pickle.dumps({"train": 1}), mtime=0), "must hold"),
        (gzip.compress(pickle.dumps((1, 2, 3)), mtime=0), "the train entry must be a"),
        (gzip.compress(pickle.dumps(((1, 2, 3), 2, 3)), mtime=0), "the train entry must be a"),
        (gzip.compress(b"\x80\x02not really a pickle", mtime=0), "corrupt or not a pickle"),
        (gzip.compress(pickle.dumps((1, 2, 3)), mtime=0)[:-12], "gzip payload is truncated"),
        (b"\x1f\x8b" + b"\x00" * 30, "gzip payload is corrupt"),
        (b"", "corrupt or not a pickle"),
    ],
)
def test_malformed_pickle_payloads(payload: bytes, message: str) -> None:
    with pytest.raises(DatasetFormatError, match=message):
        load_mnist_pickle(payload)


# --- gunzip -------------------------------------------------------------------------------------


def test_gunzip_multi_member_and_passthrough() -> None:
    assert gunzip(gzip.compress(b"abc") + gzip.compress(b"def")) == b"abcdef"
    assert gunzip(b"plain") == b"plain"


def test_gunzip_refuses_bombs() -> None:
    bomb = gzip.compress(b"\0" * 100_000)
    assert len(gunzip(bomb, limit=100_000)) == 100_000
    with pytest.raises(DatasetFormatError, match="more than 99999 bytes"):
        gunzip(bomb, limit=99_999)


def test_gunzip_trailing_garbage() -> None:
    with pytest.raises(DatasetFormatError, match="trailing garbage"):
        gunzip(gzip.compress(b"abc") + b"junk")


# --- the bundled 5k CSV sample --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return load_sample_csv_gz(bundled_sample_path().read_bytes())


def test_bundled_sample_shape_and_balance(sample) -> None:
    X, y = sample
    assert X.shape == (5000, N_FEATURES) and X.dtype == np.uint8 and X.flags.c_contiguous
    assert y.shape == (5000,) and y.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [500] * 10
    assert 0.15 < np.count_nonzero(X) / X.size < 0.25  # MNIST is about 19% ink
    assert len({row.tobytes() for row in X}) == 5000  # no duplicate digits, so rows identify examples


def _row_set(split: Split) -> set[bytes]:
    return {x.tobytes() + bytes([label]) for x, label in zip(split.X, split.y, strict=True)}


@pytest.mark.parametrize("stratify", [True, False])
def test_split_sample_partitions_deterministically(sample, stratify: bool) -> None:
    X, y = sample
    splits = split_sample(X, y, stratify=stratify)
    assert splits.sizes == {"train": 3500, "validation": 750, "test": 750}
    train, val, test = (_row_set(s) for _, s in splits.items())
    assert not (train & val or train & test or val & test)
    assert train | val | test == _row_set(Split(X, y))
    again = split_sample(X, y, seed=DEFAULT_SEED, stratify=stratify)
    for (_, a), (_, b) in zip(splits.items(), again.items(), strict=True):
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)
    other = split_sample(X, y, seed=DEFAULT_SEED + 1, stratify=stratify)
    assert not np.array_equal(other.train.y, splits.train.y)
    assert not np.array_equal(splits.train.y, np.sort(splits.train.y))  # shuffled, not label-sorted
    if stratify:
        assert np.bincount(splits.train.y).tolist() == [350] * 10
        assert np.bincount(splits.validation.y).tolist() == [75] * 10
        assert np.bincount(splits.test.y).tolist() == [75] * 10


@pytest.mark.parametrize(
    "fractions", [(0.5, 0.5), (0.7, 0.2, 0.2), (1.0, 0.0, 0.0), (0.8, -0.1, 0.3), (float("nan"), 0.5, 0.5)]
)
def test_split_sample_rejects_bad_fractions(sample, fractions) -> None:
    with pytest.raises(ValueError, match="fractions"):
        split_sample(*sample, fractions=fractions)


def test_split_sample_rejects_empty_split(sample) -> None:
    X, y = sample
    with pytest.raises(ValueError, match="validation split is empty"):
        split_sample(X[:3], y[:3], fractions=(0.9, 0.05, 0.05), stratify=False)


def test_split_sample_rejects_bad_arrays(sample) -> None:
    X, y = sample
    with pytest.raises(DatasetFormatError, match="X has 5000 rows"):
        split_sample(X, y[:10])
    with pytest.raises(DatasetFormatError, match="uint8 array of shape"):
        split_sample(X.astype(np.int64), y)


def _csv(rows: list[list[int]]) -> bytes:
    return "".join(",".join(map(str, r)) + "\n" for r in rows).encode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (_csv([[0] * 784]), "785 columns"),
        (_csv([[0] * 785, [0] * 784]), "malformed"),
        (_csv([[256] + [0] * 784]), "pixel values must be integers 0-255"),
        (_csv([[-1] + [0] * 784]), "pixel values must be integers 0-255"),
        (_csv([[0] * 784 + [10]]), "labels"),
        (b"0.5," + _csv([[0] * 784]), "malformed"),
        (b"# comment\n" + _csv([[0] * 785]), "malformed"),
    ],
)
def test_sample_csv_errors(text: bytes, message: str) -> None:
    with pytest.raises(DatasetFormatError, match=message):
        load_sample_csv_gz(gzip.compress(text))


def test_sample_csv_plain_and_crlf() -> None:
    rows = [[*range(0, 784 * 3, 3)][:784], [7] * 784]
    rows = [[v % 256 for v in r] + [label] for r, label in zip(rows, (3, 9), strict=True)]
    X, y = load_sample_csv_gz(_csv(rows).replace(b"\n", b"\r\n"))
    assert y.tolist() == [3, 9] and X[1].tolist() == [7] * 784 and X[0, 2] == 6


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"X": np.zeros((2, 784), np.float32)}, "Split.X"),
        ({"X": np.zeros((2, 783), np.uint8)}, "Split.X"),
        ({"y": np.zeros(3, np.uint8)}, "Split.y"),
        ({"y": np.zeros(2, np.int64)}, "Split.y"),
        ({"y": np.array([1, 10], np.uint8)}, "label 10"),
    ],
)
def test_split_validation(bad: dict[str, np.ndarray], message: str) -> None:
    args = {"X": np.zeros((2, 784), np.uint8), "y": np.zeros(2, np.uint8)} | bad
    with pytest.raises(DatasetFormatError, match=message):
        Split(**args)


# --- dispatch -----------------------------------------------------------------------------------


def test_load_splits_sample() -> None:
    splits = load_splits(parse_source("sample:mnist-5k"), bundled_sample_path().read_bytes())
    assert isinstance(splits, Splits)
    assert splits.sizes == {"train": 3500, "validation": 750, "test": 750}


@pytest.mark.parametrize(
    "text",
    ["s3://bucket/mnist.pkl.gz", "/data/mnist.pkl", "https://example.com/download", "s3://bucket/obj"],
)
def test_load_splits_pickle_keeps_its_own_split(text: str, tiny_uint8) -> None:
    payload = classic_pickle(tuple(as_classic(X, y) for X, y in tiny_uint8))
    splits = load_splits(parse_source(text), payload)
    assert splits.sizes == {"train": 7, "validation": 3, "test": 4}


@pytest.mark.parametrize("text", ["/data/mnist_5k.csv.gz", "https://example.com/download"])
def test_load_splits_csv_by_name_or_content(text: str, sample) -> None:
    X, y = sample
    body = _csv(np.concatenate([X[::25], y[::25, None]], axis=1).tolist())  # 200 rows, 20 per class
    splits = load_splits(parse_source(text), gzip.compress(body), seed=1)
    assert splits.sizes == {"train": 140, "validation": 30, "test": 30}


def test_load_splits_wrong_format_for_name(tiny_uint8) -> None:
    payload = classic_pickle(tuple(as_classic(X, y) for X, y in tiny_uint8))
    with pytest.raises(DatasetFormatError, match="malformed"):
        load_splits(parse_source("/data/mnist.csv.gz"), payload)
