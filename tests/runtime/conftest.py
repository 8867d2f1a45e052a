"""The real Airflow runtime for these tests, started once: a throwaway PostgreSQL 15 cluster as the
metadata database, the sandbox, and the api-server, scheduler, dag-processor and triggerer (LocalExecutor)
from ``devtools.local_airflow`` — the same code ``make airflow`` runs.

The DAG keeps its default ``@weekly`` schedule. It is created paused; the ``scheduled_run`` fixture
unpauses it, which makes the scheduler create the run of the last complete week by itself, and waits for
that run. Tests that trigger runs depend on it, so they never queue behind it (max_active_runs=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devtools.airflow_api import TERMINAL_RUN_STATES, AirflowApi
from devtools.airflow_runs import DAG_ID
from devtools.local_airflow import LocalAirflow, group_members
from devtools.postgres import ThrowawayPostgres
from tests.helpers import wait_for
from tests.runtime.runtime_helpers import airflow_on_sandbox


@dataclass
class Runtime:
    airflow: LocalAirflow
    api: AirflowApi
    sandbox: object
    postgres: ThrowawayPostgres


@pytest.fixture(scope="package")
def runtime(tmp_path_factory) -> Iterator[Runtime]:
    base = tmp_path_factory.mktemp("runtime")
    with airflow_on_sandbox(base, "@weekly") as (airflow, api, sandbox, postgres):
        pgid = airflow.pgid
        yield Runtime(airflow, api, sandbox, postgres)
    assert group_members(pgid) == [], "Airflow processes left after stop"


@pytest.fixture(scope="package")
def scheduled_run(runtime) -> dict:
    """Unpause the DAG and wait for the run the scheduler creates on its own."""
    api = runtime.api
    assert api.runs(DAG_ID) == [], "no run may exist before the DAG is unpaused"
    api.set_paused(DAG_ID, False)
    wait_for(lambda: api.runs(DAG_ID), 120, 1, "the scheduler to create a run")
    (run,) = api.runs(DAG_ID)
    return api.wait_run(DAG_ID, run["dag_run_id"], timeout=600)


@pytest.fixture(autouse=True)
def no_run_left_behind(request):
    """Every test ends with no run of the DAG unfinished. The DAG allows one active run, so a run a
    failing test leaves waiting (for a person, a hung job) would queue every later test's run behind
    it until each timed out: one failure would cost the tier an hour. A leftover run is marked failed
    (its unfinished tasks with it) and reported as this test's error."""
    yield
    if "runtime" not in request.fixturenames:
        return
    api = request.getfixturevalue("runtime").api
    left = [r["dag_run_id"] for r in api.runs(DAG_ID) if r["state"] not in TERMINAL_RUN_STATES]
    for run_id in left:
        api.set_run_state(DAG_ID, run_id, "failed")
    for run_id in left:
        wait_for(
            lambda run_id=run_id: (
                not any(
                    ti["state"] in ("running", "deferred", "queued", "awaiting_input")
                    for ti in api.task_instances(DAG_ID, run_id).values()
                )
            ),
            120,
            1,
            f"the tasks of {run_id} to stop",
        )
    assert not left, f"the test left runs unfinished: {left}; marked them failed"
