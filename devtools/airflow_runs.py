"""Run the DAG with the real Airflow CLI and read back what happened (demo, e2e tests, benchmarks).

Airflow lives inside the repo: ``AIRFLOW_HOME`` defaults to ``<repo>/.airflow`` (tests use their
own), the dags and plugins folders are the repo's. Reading results imports Airflow, so callers set
``AIRFLOW_HOME`` (``configure_environment``) before anything imports ``airflow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "sagemaker_xgboost_mnist"


def airflow_settings(home: Path) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "SAGEMAKER_K8S_MANIFESTS_DIR": str(ROOT / "include" / "manifests"),
    }


def configure_environment(home: Path) -> None:
    """Point this process at ``home`` (call before importing airflow)."""
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(airflow_settings(home))


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def migrate(env: dict[str, str]) -> None:
    subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)


def dags_test(
    env: dict[str, str],
    *,
    conf: dict | None = None,
    logical_date: str | None = None,
    mark_success_pattern: str | None = None,
    log_path: Path | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """``airflow dags test <dag> [date] [-c conf]``: the whole DAG in one process, triggers inline.

    The same ``logical_date`` twice does not rerun the earlier DAG run: Airflow 3.3 deletes that run
    (its task instances and XComs with it) and creates a new one with a new run id.
    """
    cmd = [airflow_bin(), "dags", "test", DAG_ID]
    if logical_date is not None:
        cmd.append(logical_date)
    if conf is not None:
        cmd += ["-c", json.dumps(conf)]
    if mark_success_pattern is not None:
        cmd += ["--mark-success-pattern", mark_success_pattern]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
    return result


def tasks_test(
    env: dict[str, str], task_id: str, run_id: str, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``airflow tasks test <dag> <task> <run_id>``: rerun one task of an existing DAG run."""
    cmd = [airflow_bin(), "tasks", "test", DAG_ID, task_id, run_id]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


@dataclass
class RunResult:
    run_id: str
    state: str
    task_states: dict[str, str] = field(default_factory=dict)
    xcoms: dict[str, object] = field(default_factory=dict)
    try_numbers: dict[str, int] = field(default_factory=dict)


def latest_run(dag_id: str = DAG_ID) -> RunResult:
    """The newest DAG run of ``dag_id`` with each task's state and return value."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        ).first()
        if run is None:
            raise LookupError(f"no run of {dag_id}")
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).all()
        result = RunResult(
            run.run_id,
            str(run.state),
            {ti.task_id: str(ti.state) for ti in tis},
            try_numbers={ti.task_id: ti.try_number for ti in tis},
        )
        for row in session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=dag_id, key="return_value")):
            result.xcoms[row.task_id] = XComModel.deserialize_value(row)
    return result
