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

from devtools.airflow_api import AirflowApi
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
