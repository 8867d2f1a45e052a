from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sagemaker_k8s.dataset.csvfmt import reference_csv_bytes, to_csv_bytes


@st.composite
def uint8_tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None]:
    n = draw(st.integers(0, 40))
    d = draw(st.integers(1, 30))
    fill = draw(st.sampled_from([None, 0, 255]))  # random, all zeros, all 255
    elements = st.integers(0, 255) if fill is None else st.just(fill)
    X = draw(arrays(np.uint8, (n, d), elements=elements))
    y = draw(st.none() | arrays(np.uint8, (n,), elements=st.integers(0, 255)))
    return X, y


@settings(max_examples=150, deadline=None)
@given(table=uint8_tables(), chunk_rows=st.none() | st.integers(1, 7))
def test_vectorized_matches_reference_and_round_trips(table, chunk_rows: int | None) -> None:
    X, y = table
    out = to_csv_bytes(X, y, chunk_rows=chunk_rows)
    assert out == reference_csv_bytes(X, y)
    n = X.shape[0]
    if n == 0:
        assert out == b""
        return
    assert out.endswith(b"\n") and out.count(b"\n") == n and b"\r" not in out
    back = np.loadtxt(io.BytesIO(out), delimiter=",", dtype=np.int64, ndmin=2)
    expected = X if y is None else np.column_stack([y, X])
    np.testing.assert_array_equal(back, expected)


@pytest.mark.parametrize(
    ("X", "y", "expected"),
    [
        ([[0, 7, 255], [10, 99, 100]], [3, 4], b"3,0,7,255\n4,10,99,100\n"),
        ([[0, 7, 255], [10, 99, 100]], None, b"0,7,255\n10,99,100\n"),
        ([[5]], None, b"5\n"),
        ([[5]], [9], b"9,5\n"),
        ([[0, 0]], [0], b"0,0,0\n"),
        ([[255, 255]], [255], b"255,255,255\n"),
        (np.zeros((0, 3), np.uint8), None, b""),
        (np.zeros((0, 3), np.uint8), np.zeros(0, np.uint8), b""),
    ],
)
def test_layout_examples(X, y, expected: bytes) -> None:
    X = np.asarray(X, dtype=np.uint8)
    y = None if y is None else np.asarray(y, dtype=np.uint8)
    assert to_csv_bytes(X, y) == expected == reference_csv_bytes(X, y)


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.int8, bool])
def test_other_integer_dtypes_in_range_are_accepted(dtype) -> None:
    X = np.array([[0, 1], [1, 0]], dtype=dtype)
    assert to_csv_bytes(X, np.array([1, 0], dtype=dtype)) == b"1,0,1\n0,1,0\n"


@pytest.mark.parametrize(
    ("X", "y", "error", "message"),
    [
        (np.zeros((2, 3), np.float32), None, TypeError, "X must hold integers"),
        (np.array([[256]]), None, ValueError, r"X values must be 0-255"),
        (np.array([[-1]]), None, ValueError, r"X values must be 0-255"),
        (np.zeros(3, np.uint8), None, ValueError, "X must be 2-dimensional"),
        (np.zeros((2, 0), np.uint8), None, ValueError, "at least one column"),
        (np.zeros((2, 3), np.uint8), np.zeros(3, np.uint8), ValueError, "3 labels but X has 2 rows"),
        (np.zeros((2, 3), np.uint8), np.zeros((2, 1), np.uint8), ValueError, "y must be 1-dimensional"),
        (np.zeros((2, 3), np.uint8), np.array([1.0, 2.0]), TypeError, "y must hold integers"),
        (np.zeros((2, 3), np.uint8), np.array([1, 300]), ValueError, "y values must be 0-255"),
    ],
)
@pytest.mark.parametrize("func", [to_csv_bytes, reference_csv_bytes])
def test_invalid_inputs(func, X, y, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        func(X, y)


def test_chunk_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        to_csv_bytes(np.zeros((2, 2), np.uint8), chunk_rows=0)


@pytest.mark.parametrize("chunk_rows", [None, 1, 333, 10_000])
def test_real_digits_non_contiguous_views(chunk_rows: int | None) -> None:
    rng = np.random.default_rng(7)
    X = rng.integers(0, 256, size=(900, 800), dtype=np.uint8)
    X[X < 200] = 0  # sparse like MNIST
    view, labels = X[::3, 8:792], rng.integers(0, 10, size=300).astype(np.uint8)  # strided, (300, 784)
    assert to_csv_bytes(view, labels, chunk_rows=chunk_rows) == reference_csv_bytes(view, labels)
