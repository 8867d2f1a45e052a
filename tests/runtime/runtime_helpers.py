"""Watching a DAG run through the REST API while it runs (what the UI shows, polled)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devtools.airflow_api import TERMINAL_RUN_STATES, AirflowApi
from devtools.airflow_runs import DAG_ID

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "runtime"


def require_postgres() -> None:
    """Skip without PostgreSQL's server binaries, or fail where the runtime tests must run (CI)."""
    import pytest

    from devtools.postgres import find_bindir

    if find_bindir() is None:
        message = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
        if os.environ.get("SAGEMAKER_K8S_REQUIRE_RUNTIME"):
            pytest.fail(message + "; .ci/run installs them")
        pytest.skip(message)


@contextlib.contextmanager
def airflow_on_sandbox(base: Path, schedule: str) -> Iterator[tuple]:
    """A throwaway PostgreSQL, the sandbox and the four Airflow components on them, with the DAG's
    retraining ``schedule``; yields ``(airflow, api, sandbox, postgres)`` and stops it all after."""
    from devtools.local_airflow import USERNAME, LocalAirflow
    from devtools.postgres import ThrowawayPostgres
    from sandbox.stack import Sandbox

    require_postgres()
    with ThrowawayPostgres() as postgres, Sandbox(base / "sandbox") as sandbox:
        env = {**os.environ, **sandbox.env(), "SAGEMAKER_K8S_RETRAIN_SCHEDULE": schedule}
        airflow = LocalAirflow(base / "airflow", env, db_url=postgres.url)
        airflow.start()
        try:
            api = AirflowApi(airflow.url, USERNAME, airflow.password)
            api.wait_dag(DAG_ID)
            yield airflow, api, sandbox, postgres
        finally:
            airflow.stop()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for log in (base / "airflow" / "components").glob("*.log"):
                (ARTIFACTS / f"{base.name}-{log.name}").write_bytes(log.read_bytes())


@dataclass
class Watched:
    run: dict
    # every (task_id, state, triggerer_job_id) seen while polling, in order of first sight
    seen: list[tuple[str, str, int | None]] = field(default_factory=list)

    def states(self, task_id: str) -> list[str]:
        return [state for task, state, _ in self.seen if task == task_id]

    def triggerer_jobs(self, task_id: str) -> set[int]:
        return {job for task, state, job in self.seen if task == task_id and job is not None}


def watch_run(
    api: AirflowApi,
    run_id: str,
    timeout: float = 600,
    interval: float = 0.3,
    on_poll: Callable[[Watched], None] | None = None,
) -> Watched:
    """Poll the run and its task instances until the run ends; ``on_poll`` sees every observation."""
    deadline = time.monotonic() + timeout
    watched = Watched(run={})
    while True:
        run = api.run(DAG_ID, run_id)
        for task_id, ti in api.task_instances(DAG_ID, run_id).items():
            job = (ti.get("triggerer_job") or {}).get("id")
            key = (task_id, ti["state"], job)
            if key not in watched.seen:
                watched.seen.append(key)
        if on_poll is not None:
            on_poll(watched)
        if run["state"] in TERMINAL_RUN_STATES:
            watched.run = run
            return watched
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {run['state']} after {timeout}s; seen {watched.seen}")
        time.sleep(interval)


def exit_taken_in(airflow, run_id: str, task_id: str, try_number: int) -> bool:
    """Whether the scheduler has taken in the executor's report that ``try_number`` of ``task_id``
    exited ("success" is how a deferring or parking process ends).

    Airflow 3.3.2 races when a deferred or parked task is resumed (its trigger fires, or a person
    answers) before that report is processed: the scheduler reads "finished with state success" for a
    task instance that is queued again, calls it an external kill and retries it, and a retried
    approval asks again (apache/airflow#67287, #72716; docs/reliability.md #18). In real use a person
    or a SageMaker job takes far longer than the report; the tests wait for the scheduler's own log
    line, a condition rather than a time margin.
    """
    line = (
        "Received executor event with state success for task instance TaskInstanceKey("
        f"dag_id='{DAG_ID}', task_id='{task_id}', run_id='{run_id}', try_number={try_number},"
    )
    return line in airflow.log_path("scheduler").read_text(errors="replace")


def wait_awaiting_input(runtime, run_id: str, task_id: str, timeout: float = 600) -> dict:
    """Wait until ``task_id`` waits for a person and the scheduler has taken in the exit of the try
    that parked it (see ``exit_taken_in``), so an answer now resumes that try instead of racing it."""
    deadline = time.monotonic() + timeout
    while True:
        ti = runtime.api.task_instances(DAG_ID, run_id)[task_id]
        if ti["state"] == "awaiting_input" and exit_taken_in(
            runtime.airflow, run_id, task_id, ti["try_number"]
        ):
            return ti
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{task_id} of {run_id} not parked in awaiting_input within {timeout}s (last: {ti['state']})"
            )
        time.sleep(0.5)
