"""Shared fixtures: an isolated Airflow home, and the sandbox (in-process, 127.0.0.1 only).

Airflow reads its configuration when first imported, so the environment is set here, at import
time of the first conftest, before any test module imports ``airflow``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sagemaker-k8s-airflow-tests-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "SAGEMAKER_K8S_MANIFESTS_DIR": str(ROOT / "include" / "manifests"),
    }
)


#: The test tiers (markers registered in pyproject.toml), by the directory under tests/ a test lives in.
#: ``unit``: no server at all; ``sandbox``: in-process against the sandbox's HTTP servers (no Airflow
#: process); ``e2e``: ``airflow dags test`` against the sandbox; ``runtime``: the real scheduler,
#: triggerer and executor on PostgreSQL. ``make check`` runs ``-m "unit or sandbox"``.
TIERS = {
    "unit": "unit",
    "dags": "unit",
    "deploy": "unit",
    "devtools": "unit",
    "sandbox": "sandbox",
    "hooks": "sandbox",
    "triggers": "sandbox",
    "operators": "sandbox",
    "e2e": "e2e",
    "runtime": "runtime",
    "runtime_schedule": "runtime",
}
#: In these directories a test that starts no sandbox (none in its fixture closure) is ``unit``; in any
#: ``unit`` directory a test that does start one is ``sandbox``.
MIXED = {"hooks", "triggers", "operators"}
SANDBOX_FIXTURES = {"sandbox", "shared_sandbox"}


def tier(item: pytest.Item) -> str:
    relative = Path(str(item.path)).resolve().relative_to(ROOT / "tests")
    directory = relative.parts[0] if len(relative.parts) > 1 else ""
    if directory not in TIERS:
        raise pytest.UsageError(
            f"tests/{relative}: its directory has no test tier; add it to TIERS in {__file__}"
        )
    starts_sandbox = bool(SANDBOX_FIXTURES & set(getattr(item, "fixturenames", ())))
    if TIERS[directory] == "unit" and starts_sandbox:
        return "sandbox"
    if directory in MIXED and not starts_sandbox:
        return "unit"
    return TIERS[directory]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tier, so ``-m unit``, ``-m "unit or sandbox"``, ``-m e2e`` select."""
    for item in items:
        item.add_marker(tier(item))


#: The runtime tier takes about 12 minutes on 2 cores. Past this budget its remaining tests fail at
#: once: a broken runtime (every run timing out after 10 minutes) must end CI red with the failures
#: shown, not past CI's deadline with nothing shown.
RUNTIME_BUDGET_SECONDS = float(os.environ.get("SAGEMAKER_K8S_RUNTIME_BUDGET", 40 * 60))
_runtime_started: list[float] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("runtime") is None:
        return
    if not _runtime_started:
        _runtime_started.append(time.monotonic())
    spent = time.monotonic() - _runtime_started[0]
    if spent > RUNTIME_BUDGET_SECONDS:
        pytest.fail(
            f"the runtime tier has run {spent / 60:.0f} min,"
            f" over its {RUNTIME_BUDGET_SECONDS / 60:.0f} min budget (SAGEMAKER_K8S_RUNTIME_BUDGET)"
        )


@pytest.fixture
def sandbox(tmp_path) -> Iterator:
    """A fresh sandbox per test (about 4 s): misconfigurations and faults never leak between tests."""
    from sandbox.stack import Sandbox

    with Sandbox(tmp_path / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


@pytest.fixture
def sandbox_env(sandbox, monkeypatch) -> dict[str, str]:
    """The sandbox's env file applied to this process (connections, Variables, credentials)."""
    env = sandbox.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def upload_sample(sandbox):
    """Upload the bundled sample's splits under ``s3://<bucket>/<prefix>/{train,validation,test}/``."""

    def upload(prefix: str = "xgboost") -> str:
        from sagemaker_k8s.dataset.layout import build_artifacts
        from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
        from sagemaker_k8s.dataset.sources import bundled_sample_path
        from tests.helpers import aws

        X, y = load_sample_csv_gz(bundled_sample_path().read_bytes())
        s3 = aws(sandbox, "s3")
        for artifact, body in build_artifacts(split_sample(X, y), prefix):
            s3.put_object(Bucket=sandbox.info.bucket, Key=artifact.key, Body=body)
        return f"s3://{sandbox.info.bucket}/{prefix}/"

    return upload
