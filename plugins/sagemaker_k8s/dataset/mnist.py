"""Decode MNIST into uint8 train/validation/test splits.

Two inputs are understood, both usually gzip-compressed:

* the bundled sample ``mnist_5k.csv.gz``: 784 pixel columns then the label, no header, sorted by label.
  It has no split of its own, so :func:`split_sample` makes one with a fixed seed.
* the classic ``mnist.pkl.gz`` (the SageMaker examples' copy and the walkthrough's upload script): a
  latin-1 pickle of ``((trX, trY), (vaX, vaY), (teX, teY))`` with float32 pixels ``k/256``. It keeps its
  own 50k/10k/10k split. It is read with an unpickler that only resolves numpy's array
  reconstruction globals, so a hostile file cannot run code.

Every problem with the input raises :class:`DatasetFormatError` (a ``ValueError``); a pickle that asks for
any other global raises :class:`UnsafePickleError`, which is also a ``pickle.UnpicklingError``.
"""

from __future__ import annotations

import io
import pickle
import zlib
from dataclasses import dataclass

import numpy as np

from sagemaker_k8s.dataset.sources import DatasetSource

N_FEATURES = 784  # 28 x 28 pixels
N_CLASSES = 10
SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_SEED = 20240613
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)
#: Refuse to inflate more than this (the full mnist.pkl.gz unpickles to about 220 MB).
MAX_DECOMPRESSED_BYTES = 1 << 30

_GZIP_MAGIC = b"\x1f\x8b"


class DatasetFormatError(ValueError):
    """The dataset bytes are not in a format this module reads, or their content is out of range."""


class UnsafePickleError(DatasetFormatError, pickle.UnpicklingError):
    """The pickle references a global other than numpy's array reconstruction helpers."""


@dataclass(frozen=True, eq=False)
class Split:
    """One split: ``X`` uint8 of shape (n, 784), ``y`` uint8 labels 0-9 of shape (n,)."""

    X: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        X, y = self.X, self.y
        if not isinstance(X, np.ndarray) or X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != N_FEATURES:
            raise DatasetFormatError(
                f"Split.X must be a uint8 array of shape (n, {N_FEATURES}), got {_describe(X)}"
            )
        if not isinstance(y, np.ndarray) or y.dtype != np.uint8 or y.shape != (X.shape[0],):
            raise DatasetFormatError(
                f"Split.y must be a uint8 array of shape ({X.shape[0]},), got {_describe(y)}"
            )
        if y.size and int(y.max()) >= N_CLASSES:
            raise DatasetFormatError(f"Split.y holds label {int(y.max())}; labels must be 0-{N_CLASSES - 1}")

    def __len__(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True, eq=False)
class Splits:
    train: Split
    validation: Split
    test: Split

    @property
    def sizes(self) -> dict[str, int]:
        """Rows per split, e.g. ``{"train": 3500, "validation": 750, "test": 750}``."""
        return {name: len(split) for name, split in self.items()}

    def items(self) -> list[tuple[str, Split]]:
        return [(name, getattr(self, name)) for name in SPLIT_NAMES]


def _describe(a: object) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array of shape {a.shape}"
    return type(a).__name__


# --- decompression ------------------------------------------------------------------------------


def gunzip(data: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Inflate gzip ``data`` (all members) refusing more than ``limit`` bytes; non-gzip passes through."""
    if not data.startswith(_GZIP_MAGIC):
        return bytes(data)
    out: list[bytes] = []
    size = 0
    rest = bytes(data)
    try:
        while rest.startswith(_GZIP_MAGIC):
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            chunk = inflater.decompress(rest, limit - size + 1)
            size += len(chunk)
            out.append(chunk)
            if size > limit:
                raise DatasetFormatError(f"gzip payload inflates to more than {limit} bytes; refusing")
            if not inflater.eof:
                raise DatasetFormatError("gzip payload is truncated")
            rest = inflater.unused_data
    except zlib.error as e:
        raise DatasetFormatError(f"gzip payload is corrupt: {e}") from e
    if rest.strip(b"\0"):
        raise DatasetFormatError("trailing garbage after the gzip payload")
    return b"".join(out)


# --- the bundled CSV sample ------------------------------------------------------------------------


def load_sample_csv_gz(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``mnist_5k.csv.gz`` (or the same CSV uncompressed) into ``(X uint8 (n,784), y uint8 (n,))``."""
    return _parse_label_last_csv(gunzip(data))


def _parse_label_last_csv(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    if not text.strip():
        raise DatasetFormatError("MNIST CSV is empty")
    try:
        # np.loadtxt parses in C; int16 leaves room to detect values above 255 instead of wrapping.
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int16, comments=None, ndmin=2)
    except ValueError as e:
        raise DatasetFormatError(f"MNIST CSV is malformed: {e}") from e
    if table.shape[1] != N_FEATURES + 1:
        raise DatasetFormatError(
            f"MNIST CSV must have {N_FEATURES + 1} columns (784 pixels then the label), got {table.shape[1]}"
        )
    pixels, labels = table[:, :N_FEATURES], table[:, N_FEATURES]
    if int(pixels.min()) < 0 or int(pixels.max()) > 255:
        raise DatasetFormatError("MNIST CSV pixel values must be integers 0-255")
    if int(labels.min()) < 0 or int(labels.max()) >= N_CLASSES:
        raise DatasetFormatError(f"MNIST CSV labels (last column) must be 0-{N_CLASSES - 1}")
    return np.ascontiguousarray(pixels, dtype=np.uint8), labels.astype(np.uint8)


def _split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    n_val = int(np.floor(n * fractions[1] + 0.5))
    n_test = int(np.floor(n * fractions[2] + 0.5))
    return n - n_val - n_test, n_val, n_test


def split_sample(
    X: np.ndarray,
    y: np.ndarray,
    seed: int = DEFAULT_SEED,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    *,
    stratify: bool = True,
) -> Splits:
    """Shuffle with a fixed seed and cut into train/validation/test by ``fractions``.

    With ``stratify`` (the default) each class is cut separately, so a label-sorted sample such as
    ``mnist_5k`` gives every split the same class balance (5000 rows -> 3500/750/750, 350/75/75 per
    class). The result depends only on the inputs and ``seed``.
    """
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or not all(np.isfinite(fr)) or min(fr) <= 0 or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions!r}")
    X = np.asarray(X)
    y = np.asarray(y)
    Split(X[:0], y[:0])  # dtype/shape checks with the same messages as a real split
    if y.shape != (X.shape[0],):
        raise DatasetFormatError(f"X has {X.shape[0]} rows but y has shape {y.shape}")

    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == label) for label in np.unique(y)] if stratify else [np.arange(len(y))]
    picked: list[list[np.ndarray]] = [[], [], []]
    for group in groups:
        order = rng.permutation(group)
        n_train, n_val, _ = _split_counts(len(order), fr)  # type: ignore[arg-type]
        for i, part in enumerate(np.split(order, [n_train, n_train + n_val])):
            picked[i].append(part)
    splits = []
    for name, parts in zip(SPLIT_NAMES, picked, strict=True):
        idx = rng.permutation(np.concatenate(parts))
        if idx.size == 0:
            raise ValueError(f"split_sample: the {name} split is empty ({len(y)} rows, fractions {fr})")
        splits.append(Split(X[idx], y[idx]))
    return Splits(*splits)


# --- the classic mnist.pkl.gz --------------------------------------------------------------------------

# ndarray.__reduce__ names numpy's reconstruct helper, whatever module numpy currently keeps it in.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # numpy 1.x spelling (the classic file)
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # numpy 2.x spelling
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _NumpyArraysOnlyUnpickler(pickle.Unpickler):
    """Resolves only the globals a protocol 0-4 pickle of plain numpy arrays needs."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"mnist pickle refers to {module}.{name}; only numpy arrays are allowed, refusing to load it "
                "(a genuine file written by Python 3 must use pickle protocol 3 or 4)"
            ) from None


def load_mnist_pickle(data: bytes) -> Splits:
    """Decode the classic ``mnist.pkl.gz`` (gzip optional) into uint8 :class:`Splits`.

    Pixels ``k/256`` become ``k`` exactly (``rint(x*256)``, 1.0 clipped to 255); labels must be 0-9.
    """
    return _parse_mnist_pickle(gunzip(data))


def _parse_mnist_pickle(payload: bytes) -> Splits:
    try:
        obj = _NumpyArraysOnlyUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except UnsafePickleError:
        raise
    except Exception as e:  # corrupt pickles raise many types: EOFError, ValueError, TypeError, ...
        raise DatasetFormatError(f"mnist pickle is corrupt or not a pickle: {type(e).__name__}: {e}") from e
    if not (isinstance(obj, tuple | list) and len(obj) == 3):
        is_seq = isinstance(obj, tuple | list)
        what = f"{type(obj).__name__} of length {len(obj)}" if is_seq else _describe(obj)
        raise DatasetFormatError(f"mnist pickle must hold ((trX, trY), (vaX, vaY), (teX, teY)), got {what}")
    splits = []
    for name, pair in zip(SPLIT_NAMES, obj, strict=True):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise DatasetFormatError(f"mnist pickle: the {name} entry must be a (features, labels) pair")
        splits.append(Split(_pixels_to_uint8(name, pair[0]), _labels_to_uint8(name, pair[1], pair[0])))
    return Splits(*splits)


def _pixels_to_uint8(name: str, x: object) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != N_FEATURES or x.shape[0] == 0:
        raise DatasetFormatError(
            f"mnist pickle: {name} features must be a non-empty (n, {N_FEATURES}) array, got {_describe(x)}"
        )
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if x.dtype.kind != "f":
        raise DatasetFormatError(f"mnist pickle: {name} features must be floats in [0, 1], got {x.dtype}")
    lo, hi = float(x.min()), float(x.max())  # NaN propagates into both and fails the check below
    if not (lo >= 0.0 and hi <= 1.0):
        raise DatasetFormatError(f"mnist pickle: {name} features must lie in [0, 1], got [{lo}, {hi}]")
    scaled = x * 256  # one temporary, reused in place
    np.rint(scaled, out=scaled)
    np.minimum(scaled, 255, out=scaled)
    return scaled.astype(np.uint8)


def _labels_to_uint8(name: str, y: object, x: np.ndarray) -> np.ndarray:
    if not isinstance(y, np.ndarray) or y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise DatasetFormatError(
            f"mnist pickle: {name} labels must be an integer array of shape "
            f"({x.shape[0]},), got {_describe(y)}"
        )
    if int(y.min()) < 0 or int(y.max()) >= N_CLASSES:
        raise DatasetFormatError(
            f"mnist pickle: {name} labels must be 0-{N_CLASSES - 1}, got [{int(y.min())}, {int(y.max())}]"
        )
    return y.astype(np.uint8)


# --- dispatch ---------------------------------------------------------------------------------------------


def load_splits(source: DatasetSource, data: bytes, *, seed: int = DEFAULT_SEED) -> Splits:
    """Decode ``data`` fetched from ``source`` into splits.

    The format comes from the source (``sample:`` and ``*.csv[.gz]`` are the label-last CSV, re-split
    with ``seed``; ``*.pkl[.gz]`` is the classic pickle, keeping its own split); for names that say
    neither, the content decides (a CSV starts with a digit).
    """
    payload = gunzip(data)
    fmt = source.format
    if fmt is None:
        fmt = "csv.gz" if payload[:1].isdigit() else "pkl.gz"
    if fmt == "csv.gz":
        X, y = _parse_label_last_csv(payload)
        return split_sample(X, y, seed=seed)
    return _parse_mnist_pickle(payload)
