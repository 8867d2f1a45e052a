"""The throwaway PostgreSQL cluster of the runtime tests and ``make airflow --db postgres``."""

from __future__ import annotations

import os

import pytest

from devtools.local_airflow import group_members
from devtools.postgres import ThrowawayPostgres, find_bindir

pytestmark = pytest.mark.skipif(
    find_bindir() is None and not os.environ.get("SAGEMAKER_K8S_REQUIRE_RUNTIME"),
    reason="PostgreSQL server binaries are not installed",
)


def test_starts_serves_and_leaves_nothing_behind():
    import psycopg2

    pg = ThrowawayPostgres().start()
    directory, pgid = pg.dir, pg.proc.pid
    try:
        assert pg.url == f"postgresql+psycopg2://postgres@127.0.0.1:{pg.port}/airflow"
        with psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="airflow") as conn:
            cur = conn.cursor()
            cur.execute("SHOW listen_addresses")
            assert cur.fetchone()[0] == "127.0.0.1"
            cur.execute("SELECT current_database()")
            assert cur.fetchone()[0] == "airflow"
        conn.close()
        assert group_members(pgid), "the server runs in its own process group"
    finally:
        pg.stop()
    assert group_members(pgid) == []
    assert not directory.exists()
    pg.stop()  # a second stop is harmless


def test_missing_binaries_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install postgresql"):
        ThrowawayPostgres(bindir=tmp_path)
