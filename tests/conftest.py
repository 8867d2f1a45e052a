"""Shared fixtures: an isolated Airflow home, and the sandbox (in-process, 127.0.0.1 only).

Airflow reads its configuration when first imported, so the environment is set here, at import
time of the first conftest, before any test module imports ``airflow``.
"""

from __future__ import annotations

import os
import tempfile
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
        from helpers import aws

        from sagemaker_k8s.dataset.layout import build_artifacts
        from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
        from sagemaker_k8s.dataset.sources import bundled_sample_path

        X, y = load_sample_csv_gz(bundled_sample_path().read_bytes())
        s3 = aws(sandbox, "s3")
        for artifact, body in build_artifacts(split_sample(X, y), prefix):
            s3.put_object(Bucket=sandbox.info.bucket, Key=artifact.key, Body=body)
        return f"s3://{sandbox.info.bucket}/{prefix}/"

    return upload
