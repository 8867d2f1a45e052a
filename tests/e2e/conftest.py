"""Fixtures shared by the end-to-end tests: the migrated Airflow database and a DAG runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devtools.airflow_runs import airflow_settings, dags_test, latest_run, migrate


@pytest.fixture(scope="session")
def airflow_db() -> None:
    home = os.environ["AIRFLOW_HOME"]
    migrate({**os.environ, **airflow_settings(Path(home))})


@pytest.fixture
def run_dag(sandbox, airflow_db, tmp_path):
    """Run the DAG once through the CLI with only the sandbox's env; returns (result, RunResult).

    ``env`` (optional) overrides variables of the sandbox's env for this run.
    """

    def run(env: dict[str, str] | None = None, **kwargs):
        full_env = {**os.environ, **sandbox.env(), **(env or {})}
        result = dags_test(full_env, log_path=tmp_path / "dags-test.log", **kwargs)
        return result, latest_run()

    return run
