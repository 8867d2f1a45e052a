"""Scheduled retraining on the real scheduler, run after run: the scheduler itself creates two
consecutive runs (a one-minute schedule for the test, the weekly one's mechanics otherwise), and the
pipeline still has exactly one endpoint and one HostingDeployment.

A runtime of its own (its own package, so it starts after ``tests/runtime``'s has stopped): the short
schedule would queue scheduled runs between the other runtime tests' runs.
"""

from __future__ import annotations

import pytest

from devtools.airflow_runs import DAG_ID
from tests.helpers import aws, wait_for
from tests.runtime.runtime_helpers import airflow_on_sandbox

pytestmark = pytest.mark.runtime


@pytest.fixture(scope="module")
def every_minute(tmp_path_factory):
    with airflow_on_sandbox(tmp_path_factory.mktemp("scheduled-loop"), "* * * * *") as (_, api, sandbox, _):
        yield api, sandbox


def test_two_scheduled_runs_leave_one_endpoint(every_minute):
    api, sandbox = every_minute
    api.set_paused(DAG_ID, False)

    def finished_scheduled_runs():
        runs = [r for r in api.runs(DAG_ID) if r["run_type"] == "scheduled"]
        done = [r for r in runs if r["state"] in ("success", "failed")]
        return done if len(done) >= 2 else None

    first, second = sorted(
        wait_for(finished_scheduled_runs, 900, 2, "two scheduled runs")[:2], key=lambda r: r["run_after"]
    )
    api.set_paused(DAG_ID, True)
    assert (first["state"], second["state"]) == ("success", "success"), (first, second)
    states = [
        {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run["dag_run_id"]).items()}
        for run in (first, second)
    ]
    assert states[0]["promote_endpoint"] == "success"  # the first model creates the endpoint
    # the same data and params give the same model: the gate keeps the champion
    assert states[1]["keep_champion"] == "success" and states[1]["promote_endpoint"] == "skipped"
    deployments = sandbox.kube.list_objects("sagemaker.aws.amazon.com/v1", "hostingdeployments")
    assert [d["metadata"]["name"] for d in deployments] == ["sagemaker-xgboost-mnist"]
    endpoints = aws(sandbox, "sagemaker").list_endpoints()["Endpoints"]
    assert [e["EndpointName"] for e in endpoints] == ["sagemaker-xgboost-mnist"]
