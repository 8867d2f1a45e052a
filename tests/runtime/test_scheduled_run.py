"""Periodic retraining on the real scheduler: unpausing the DAG makes the scheduler itself create the run
of the last complete interval (catchup off: only that one), and that run completes on the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devtools.airflow_runs import DAG_ID
from tests.helpers import SKIPPED_IN_A_FIRST_RUN, dag_task_ids

pytestmark = pytest.mark.runtime


def test_scheduler_creates_one_run_that_succeeds(runtime, scheduled_run):
    assert scheduled_run["run_type"] == "scheduled", scheduled_run
    assert scheduled_run["state"] == "success", scheduled_run
    tis = runtime.api.task_instances(DAG_ID, scheduled_run["dag_run_id"])
    states = {task: ti["state"] for task, ti in tis.items()}
    # The first run of the pipeline: no champion yet, so the gate promotes and nothing rolls back; no
    # tuning param, so the tuning branch skips.
    expected = {t: "skipped" if t in SKIPPED_IN_A_FIRST_RUN else "success" for t in dag_task_ids()}
    assert states == expected
    # @weekly (a cron trigger), catchup off: only the most recent Sunday 00:00 UTC, not the weeks before
    when = parse(scheduled_run["run_after"])
    assert when.weekday() == 6 and (when.hour, when.minute) == (0, 0)
    assert datetime.now(UTC) - when < timedelta(days=7)
    assert len(runtime.api.runs(DAG_ID)) >= 1


def test_the_scheduler_plans_the_next_weekly_run(runtime, scheduled_run):
    dag = runtime.api.dag(DAG_ID)
    assert dag["is_paused"] is False
    assert dag["max_active_runs"] == 1
    assert parse(dag["next_dagrun_run_after"]) == parse(scheduled_run["run_after"]) + timedelta(days=7)


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
