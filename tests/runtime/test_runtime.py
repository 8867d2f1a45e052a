"""The local runtime itself (``devtools.local_airflow``, what ``make airflow`` runs): every component
healthy on PostgreSQL, nothing listening beyond 127.0.0.1, and the metadata really in PostgreSQL."""

from __future__ import annotations

import pytest

from devtools.airflow_runs import DAG_ID
from devtools.local_airflow import HEALTHY_COMPONENTS, group_members
from tests.helpers import listening_addresses

pytestmark = pytest.mark.runtime


def test_every_component_is_healthy(runtime):
    health = runtime.airflow.health()
    assert {c: health[c]["status"] for c in HEALTHY_COMPONENTS} == dict.fromkeys(
        HEALTHY_COMPONENTS, "healthy"
    )


def test_nothing_listens_beyond_loopback(runtime):
    listening = listening_addresses(group_members(runtime.airflow.pgid))
    assert listening, "the api-server must be listening"
    assert all(loopback for _, loopback in listening), listening


def test_the_metadata_database_is_postgresql(runtime, scheduled_run):
    import psycopg2

    pg = runtime.postgres
    with psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="airflow") as conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM dag_run WHERE dag_id = %s AND run_type = 'scheduled'", (DAG_ID,))
        assert cur.fetchone()[0] >= 1
    conn.close()
    assert pg.server_version().startswith("15.")
    assert runtime.airflow.env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
