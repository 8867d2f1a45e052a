"""Benchmark: MNIST arrays -> the walkthrough's CSV, vectorized vs the plain-Python reference.

    .venv/bin/python bench/bench_csv.py                 # 70,000 rows, best of 3, print a Markdown table
    .venv/bin/python bench/bench_csv.py --write-docs    # ... and update the section in docs/benchmarks.md
    .venv/bin/python bench/bench_csv.py --rows 10000 --repeat 1   # quick check

Input: 70,000 MNIST-shaped rows (the size of full MNIST) made deterministically from the bundled
5,000 real digits: each copy of the sample is shifted by a different (dy, dx) of at most 2 pixels, then
all rows are shuffled with a fixed seed, so the data keep MNIST's ~19% ink and digit statistics without
repeating rows. Labels go first, as for the train/validation channels.

Measured: the best wall time of ``--repeat`` runs of each implementation (the outputs must be
byte-identical, otherwise the script exits 1), throughput in rows/s and output MB/s (10^6 bytes), the
speed-up, and the peak extra RSS of one conversion, measured in a forked child (Linux ``ru_maxrss``
minus the RSS the child started with) so the numbers don't include the input data or each other.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import os
import platform
import re
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from docs_section import DOCS, markers, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from sagemaker_k8s.dataset.csvfmt import reference_csv_bytes, to_csv_bytes  # noqa: E402
from sagemaker_k8s.dataset.mnist import load_sample_csv_gz  # noqa: E402
from sagemaker_k8s.dataset.sources import bundled_sample_path  # noqa: E402

START, END = markers("csv")
SEED = 20240613
GOAL = 5.0
# Shifts in order of size: (0, 0) first, so a run of <= 5,000 rows is the sample itself (shuffled).
SHIFTS = sorted(
    ((dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)), key=lambda s: (abs(s[0]) + abs(s[1]), s)
)

Convert = Callable[[np.ndarray, np.ndarray], bytes]


def make_rows(rows: int) -> tuple[np.ndarray, np.ndarray]:
    X5, y5 = load_sample_csv_gz(bundled_sample_path().read_bytes())
    images = X5.reshape(-1, 28, 28)
    copies = -(-rows // len(y5))
    X = np.concatenate(
        [np.roll(images, SHIFTS[i % len(SHIFTS)], axis=(1, 2)).reshape(-1, 784) for i in range(copies)]
    )
    y = np.tile(y5, copies)
    order = np.random.default_rng(SEED).permutation(len(y))[:rows]
    return np.ascontiguousarray(X[order]), y[order]


def best_time(func: Convert, X: np.ndarray, y: np.ndarray, repeat: int) -> tuple[float, bytes]:
    best, out = float("inf"), b""
    for _ in range(repeat):
        out = b""  # drop the previous output before the next run
        start = time.perf_counter()
        out = func(X, y)
        best = min(best, time.perf_counter() - start)
    return best, out


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _release_free_heap() -> None:
    """Give memory freed by earlier work back to the OS, so it can't hide this run's growth in RSS."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)  # glibc


def peak_extra_rss(func: Convert, X: np.ndarray, y: np.ndarray) -> int | None:
    """Peak RSS above the starting RSS while ``func`` runs once, in a forked child (Linux only)."""
    if not (hasattr(os, "fork") and Path("/proc/self/statm").exists()):
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: measure, report, and leave without running any cleanup
        try:
            _release_free_heap()
            before = _rss_bytes()
            func(X, y)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
            os.write(write_end, str(max(0, peak - before)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        reported = pipe.read()
    os.waitpid(pid, 0)
    return int(reported) if reported else None


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    load = f", 1-min load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}{load}"
    )


def render(results: dict[str, tuple[float, int | None]], X: np.ndarray, size: int, repeat: int) -> str:
    n = X.shape[0]
    ref_time = results["reference"][0]
    rows = []
    for name, label in (
        ("reference", "`reference_csv_bytes` (per-row Python loop)"),
        ("vectorized", "`to_csv_bytes` (LUT cells + NUL mask, ~1M-cell blocks)"),
    ):
        seconds, peak = results[name]
        peak_text = f"{peak / 1e6:,.0f}" if peak is not None else "n/a"
        rows.append(
            f"| {label} | {seconds:.2f} | {n / seconds:,.0f} | {size / seconds / 1e6:,.1f} | "
            f"{ref_time / seconds:.1f}x | {peak_text} |"
        )
    speedup = ref_time / results["vectorized"][0]
    verdict = "met" if speedup >= GOAL else "NOT met"
    return "\n".join(
        [
            f"{n:,} rows x {X.shape[1]} uint8 pixels + label ({np.count_nonzero(X) / X.size:.1%} non-zero), "
            f"{size / 1e6:.1f} MB of CSV; best of {repeat} run{'s' * (repeat != 1)}; "
            "peak RSS measured once per implementation.",
            "",
            "| implementation | best time (s) | rows/s | output MB/s | speed-up | peak extra RSS (MB) |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Speed-up {speedup:.1f}x (goal >= {GOAL:.0f}x: {verdict}). Outputs byte-identical.",
        ]
    )


def docs_section(table: str, env: str, rows: int) -> str:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return "\n".join(
        [
            START,
            "## CSV conversion",
            "",
            "MNIST arrays to the walkthrough's CSV (label first, no header) for SageMaker built-in XGBoost:",
            "`sagemaker_k8s.dataset.csvfmt.to_csv_bytes` against the plain-Python `reference_csv_bytes` that",
            "defines the format. Input: the bundled 5,000 digits, shifted by up to 2 px per copy to",
            f"{rows:,} rows (70,000 is full MNIST) and shuffled with a fixed seed.",
            "",
            f"Measured {today} on {env}. Generated by `bench/bench_csv.py`; do not edit by hand, rerun",
            "`.venv/bin/python bench/bench_csv.py --write-docs`.",
            "",
            table,
            END,
        ]
    )


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace the marked section in ``path`` (or append it), leaving every other section alone."""
    write_section("csv", section, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=70_000, help="rows to convert (default 70,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per implementation, best is kept")
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS}")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")

    env = machine()
    X, y = make_rows(args.rows)
    to_csv_bytes(X[:100], y[:100])  # warm up: table construction, page faults of the first blocks

    implementations = (("vectorized", to_csv_bytes), ("reference", reference_csv_bytes))
    # Memory first, while the parent's heap holds nothing but the input.
    peaks = {name: peak_extra_rss(func, X, y) for name, func in implementations}
    results: dict[str, tuple[float, int | None]] = {}
    outputs: dict[str, bytes] = {}
    for name, func in implementations:
        seconds, outputs[name] = best_time(func, X, y, args.repeat)
        results[name] = (seconds, peaks[name])
        print(f"{name:>10}: {seconds:.3f} s", file=sys.stderr)
    if outputs["vectorized"] != outputs["reference"]:
        print("FAIL: to_csv_bytes and reference_csv_bytes outputs differ", file=sys.stderr)
        return 1
    table = render(results, X, len(outputs["reference"]), args.repeat)
    peak_process = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"\nMachine: {env}\nPeak RSS of this process: {peak_process / 1e6:,.0f} MB\n")
    print(table)
    if args.write_docs:
        write_docs(docs_section(table, env, args.rows))
        print(f"\nupdated {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
