"""``devtools.local_airflow`` without Airflow: the settings every component gets, and ``stop`` taking
down a whole process group, including children that ignore SIGTERM (as Airflow's scheduler can)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.local_airflow import (
    COMPONENTS,
    LocalAirflow,
    descendants,
    group_members,
    process_state,
    runtime_settings,
)
from tests.helpers import wait_for


def test_settings_bind_loopback_and_share_one_secret(tmp_path):
    env = runtime_settings(tmp_path, 8123, "postgresql+psycopg2://postgres@127.0.0.1:5/airflow", "s3cret")
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "s3cret"  # noqa: S105 - a test value
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(tmp_path / "passwords.json")
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in runtime_settings(tmp_path, 1, None, "x")


def test_log_servers_are_off_and_the_api_binds_loopback():
    # The scheduler's and triggerer's log servers would bind 0.0.0.0 (host "" is hard-coded).
    assert "--skip-serve-logs" in COMPONENTS["scheduler"]
    assert "--skip-serve-logs" in COMPONENTS["triggerer"]
    assert COMPONENTS["api-server"][COMPONENTS["api-server"].index("--host") + 1] == "127.0.0.1"


def test_password_file_is_preseeded_and_private(tmp_path):
    (tmp_path / "passwords.json").write_text('{"admin": "stale"}')
    airflow = LocalAirflow(tmp_path, {}, password="hunter2")  # noqa: S106 - a test value
    passwords = airflow.write_password_file()
    assert passwords == tmp_path / "passwords.json"
    assert passwords.read_text() == '{"admin": "hunter2"}'
    assert passwords.stat().st_mode & 0o777 == 0o600


STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # a grandchild in the group
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("ignore_sigterm", [False, True])
def test_stop_ends_the_whole_group(tmp_path: Path, ignore_sigterm: bool):
    airflow = LocalAirflow(tmp_path, {})
    code = (
        STUBBORN if ignore_sigterm else STUBBORN.replace("signal.signal(signal.SIGTERM, signal.SIG_IGN)", "")
    )
    for name in ("first", "second"):
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            text=True,
            process_group=0 if airflow.pgid is None else airflow.pgid,
        )
        assert proc.stdout.readline().strip() == "ready"
        airflow.pgid = airflow.pgid or proc.pid
        airflow.procs[name] = proc
    pgid = airflow.pgid
    assert len(group_members(pgid)) == 4
    started = time.monotonic()
    airflow.stop(grace=2)
    assert group_members(pgid) == []
    assert time.monotonic() - started < (10 if ignore_sigterm else 2)
    assert all(p.poll() is not None for p in airflow.procs.values())


def test_paused_stops_a_component_and_its_children_then_resumes_them(tmp_path: Path):
    airflow = LocalAirflow(tmp_path, {})
    parent = subprocess.Popen(
        [sys.executable, "-c", STUBBORN.replace("signal.signal(signal.SIGTERM, signal.SIG_IGN)", "")],
        stdout=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    try:
        assert parent.stdout.readline().strip() == "ready"
        airflow.procs["triggerer"], airflow.pgid = parent, parent.pid
        (child,) = descendants(parent.pid)
        with airflow.paused("triggerer") as stopped:
            assert stopped == [parent.pid, child]
            assert {process_state(parent.pid), process_state(child)} == {"T"}
        # SIGCONT is asynchronous too
        wait_for(lambda: "T" not in {process_state(parent.pid), process_state(child)}, 10, 0.02, "resume")
    finally:
        airflow.stop(grace=2)
    assert group_members(parent.pid) == []
