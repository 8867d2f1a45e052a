"""Shared helpers for the AWS-side sandbox tests: boto3 clients against the real moto HTTP server, the
bundled MNIST digits as SageMaker XGBoost CSV, and polling with a deadline."""

from __future__ import annotations

import functools
import gzip
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config

from sandbox.aws import start_moto

REPO = Path(__file__).resolve().parents[3]
MNIST = REPO / "include" / "data" / "mnist_5k.csv.gz"
REGION = "us-west-2"
FAST = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@functools.lru_cache(maxsize=64)
def client(url: str, service: str, region: str = REGION):
    """A boto3 client for the moto server (cached: creating clients is what is slow here)."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
        config=FAST,
    )


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0, interval=0.02):
    """Poll ``fetch`` until ``done(value)``; returns (value, every distinct value seen in order)."""
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while True:
        value = fetch()
        if not seen or seen[-1] != value:
            seen.append(value)
        if done(value):
            return value, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s; seen {seen}")
        time.sleep(interval)


def sim_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sagemaker-sim-")]


@pytest.fixture(scope="session")
def mnist() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The bundled 5k digits, shuffled with a fixed seed, split 3500/750/750."""
    with gzip.open(MNIST) as f:
        data = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    data = data[np.random.default_rng(1234).permutation(len(data))]
    X, y = data[:, :-1], data[:, -1]
    return {
        "train": (X[:3500], y[:3500]),
        "validation": (X[3500:4250], y[3500:4250]),
        "test": (X[4250:], y[4250:]),
    }


def _csv_cells() -> np.ndarray:
    cells = np.zeros((256, 4), np.uint8)
    for value in range(256):
        text = f"{value},".encode()
        cells[value, : len(text)] = np.frombuffer(text, np.uint8)
    return cells


_CELLS = _csv_cells()


def to_csv(X: np.ndarray, y: np.ndarray | None = None) -> bytes:
    """SageMaker XGBoost CSV: label first (if given), no header, uint8 integers (vectorized)."""
    rows = X if y is None else np.concatenate([y[:, None], X], axis=1)
    cells = _CELLS[rows.astype(np.uint8)]  # (n, cols, 4): "123," padded with NUL
    last = cells[:, -1, :]
    last[last == ord(",")] = ord("\n")
    flat = cells.reshape(-1)
    return flat[flat != 0].tobytes()


@pytest.fixture(scope="module")
def moto():
    """A moto server for one test module; stopped at the end, leaving no thread behind."""
    before = set(threading.enumerate())
    srv = start_moto()  # note: moto's backends are process-wide, so state from other modules is visible
    yield srv
    srv.stop()
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leftover, f"threads left behind: {leftover}"
