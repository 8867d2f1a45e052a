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


def wait_awaiting_input(api: AirflowApi, run_id: str, task_id: str, timeout: float = 600) -> dict:
    """Wait until ``task_id`` waits for a person, and has waited for a few seconds, as a person does.

    Airflow 3.3.2 races when the answer comes within about a second of the task parking: the answer
    re-queues the task instance before the executor reports the parked try's exit, the scheduler sees
    "finished with state success" for a queued task, marks it up_for_retry, and the next try asks
    again. The REST API shows nothing that says the report was processed, so the test waits until the
    task has been parked for ``SETTLE`` seconds in a row (several scheduler loops), like a human would.
    """
    deadline = time.monotonic() + timeout
    parked_since = None
    while True:
        ti = api.task_instances(DAG_ID, run_id)[task_id]
        now = time.monotonic()
        if ti["state"] != "awaiting_input":
            parked_since = None
        elif parked_since is None:
            parked_since = now
        elif now - parked_since >= SETTLE:
            return ti
        if now > deadline:
            raise TimeoutError(f"{task_id} of {run_id} did not park in awaiting_input within {timeout}s")
        time.sleep(0.5)


#: Seconds a parked human-in-the-loop task must stay parked before a test answers it.
SETTLE = 5.0
