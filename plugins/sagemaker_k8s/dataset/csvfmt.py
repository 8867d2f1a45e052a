"""The walkthrough's CSV layout for SageMaker built-in XGBoost (``ContentType: text/csv``).

One row per example: the label first when there is one (train/validation), then the pixel values;
integers in decimal, ``,`` between cells, no header, ``\\n`` after every row including the last.
:func:`reference_csv_bytes` defines the format in plain Python; :func:`to_csv_bytes` produces the same
bytes about 10x faster with numpy (see ``docs/benchmarks.md``).

How the fast path works: every value 0-255 has a 4-byte "cell" holding its digits and the separator,
padded with NUL bytes (``7`` -> ``b"7,\\0\\0"``, ``255`` -> ``b"255,"``). A table lookup turns a block of
rows into a uint32 array of cells (the last column uses ``\\n`` cells), and dropping the NUL bytes
leaves exactly the CSV text. Blocks of about a million cells keep the working set at a few MB, which
is both cache-friendly and bounded in memory whatever the number of rows.
"""

from __future__ import annotations

import numpy as np

#: Cells per block (4 bytes each): about 4 MiB of lookup output at a time.
CHUNK_CELLS = 1 << 20


def _cell_table(terminator: str) -> np.ndarray:
    table = np.zeros((256, 4), dtype=np.uint8)
    for value in range(256):
        cell = f"{value}{terminator}".encode("ascii")
        table[value, : len(cell)] = np.frombuffer(cell, dtype=np.uint8)
    return table.view(np.uint32).reshape(256)  # one native uint32 per cell; byte order is preserved


_SEP_CELLS = _cell_table(",")
_END_CELLS = _cell_table("\n")


def _as_uint8(a: object, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integers 0-255, got dtype {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 255):
        raise ValueError(f"{name} values must be 0-255, got [{int(arr.min())}, {int(arr.max())}]")
    return arr.astype(np.uint8)


def _check(X: object, y: object | None) -> tuple[np.ndarray, np.ndarray | None]:
    X = _as_uint8(X, "X", 2)
    if X.shape[1] == 0:
        raise ValueError("X must have at least one column")
    if y is None:
        return X, None
    y = _as_uint8(y, "y", 1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} labels but X has {X.shape[0]} rows")
    return X, y


def to_csv_bytes(X: np.ndarray, y: np.ndarray | None = None, *, chunk_rows: int | None = None) -> bytes:
    """``X`` (n, d) and optional labels ``y`` (n,), integers 0-255, as CSV bytes (vectorized).

    Byte-identical to :func:`reference_csv_bytes`. ``chunk_rows`` overrides the block size (rows).
    """
    X, y = _check(X, y)
    n, d = X.shape
    width = d + (y is not None)
    if chunk_rows is not None and chunk_rows < 1:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
    rows = chunk_rows or max(1, CHUNK_CELLS // width)
    cells = np.empty((min(rows, n), width), dtype=np.uint32)
    parts: list[np.ndarray] = []
    for start in range(0, n, rows):
        block = X[start : start + rows]
        out = cells[: block.shape[0]]
        first = 0
        if y is not None:
            out[:, 0] = _SEP_CELLS[y[start : start + rows]]
            first = 1
        out[:, first:-1] = _SEP_CELLS[block[:, :-1]]
        out[:, -1] = _END_CELLS[block[:, -1]]
        raw = out.reshape(-1).view(np.uint8)
        parts.append(raw[raw != 0])  # boolean indexing copies, so ``cells`` can be reused
    return b"".join(parts)  # one copy into the result (ndarrays export the buffer protocol)


def reference_csv_bytes(X: np.ndarray, y: np.ndarray | None = None) -> bytes:
    """The format's definition: a plain per-row loop. Slow; the oracle for tests and the benchmark."""
    X, y = _check(X, y)
    lines = []
    for i, row in enumerate(X.tolist()):
        values = row if y is None else [int(y[i]), *row]
        lines.append(",".join(str(v) for v in values) + "\n")
    return "".join(lines).encode("ascii")
