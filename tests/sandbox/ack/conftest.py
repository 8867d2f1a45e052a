"""One ACK sandbox (``Sandbox(flavour="ack")``) shared by the tests of a module: none misconfigures it
for good (``broken`` restores it) or leaves faults armed (``armed`` clears them), each uses its own CR and
SageMaker names, and none starts another sandbox (moto's state is process-wide: stopping a second sandbox
would wipe this one's S3 objects and SageMaker resources). Module scope, not package scope: this directory
is no Python package, where pytest would keep a "package" fixture for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.ack.ack_helpers import upload_data


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory) -> Iterator:
    from sandbox.stack import Sandbox

    state = tmp_path_factory.mktemp("ack") / "sandbox"
    with Sandbox(state, phase_delay=0.05, poll_interval=0.1, flavour="ack") as sb:
        sb.ack.resync_seconds = 1.0
        yield sb


@pytest.fixture(scope="module")
def data(shared_sandbox) -> str:
    """``s3://<bucket>/ack-data/`` holding a small train/validation split of the bundled MNIST sample."""
    return upload_data(shared_sandbox, "ack-data")


@pytest.fixture
def armed(shared_sandbox) -> Iterator:
    """``shared_sandbox``, with every armed fault cleared after the test."""
    try:
        yield shared_sandbox
    finally:
        shared_sandbox.clear_faults()


@pytest.fixture
def broken(shared_sandbox) -> Iterator:
    """``broken(name)`` misconfigures the shared sandbox; it is restored after the test."""
    try:
        yield shared_sandbox.misconfigure
    finally:
        shared_sandbox.restore()
