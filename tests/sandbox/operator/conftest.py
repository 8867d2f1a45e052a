"""A sandbox shared by the tests of one module that neither misconfigure it nor leave faults armed
(each uses its own CR names); tests that break the sandbox use the per-test ``sandbox`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.operator.operator_helpers import upload_sample_to


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory) -> Iterator:
    from sandbox.stack import Sandbox

    with Sandbox(tmp_path_factory.mktemp("shared") / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


@pytest.fixture(scope="module")
def shared_data(shared_sandbox) -> str:
    """``s3://<bucket>/xgboost/`` holding the bundled sample's train/validation/test splits."""
    return upload_sample_to(shared_sandbox, "xgboost")


@pytest.fixture
def armed(shared_sandbox) -> Iterator:
    """``shared_sandbox``, with every armed fault cleared after the test."""
    try:
        yield shared_sandbox
    finally:
        shared_sandbox.clear_faults()
