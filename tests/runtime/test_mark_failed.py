"""Fault matrix #8 on the real runtime: a user marks the deferred training wait failed, or clears it, in
Airflow while the SageMaker job runs. Either way the CR is deleted, the operator's finalizer stops the
job, and no orphan is left:

* a triggerer is running the wait's trigger: the triggerer cancels it as a user action and calls the
  trigger's ``on_kill``, which deletes the CR (the cleared wait then runs again and fails: the job it
  waited for is gone);
* no triggerer has picked the trigger up yet (here: the triggerer is paused, SIGSTOP): nothing in
  Airflow cancels anything, and ``cleanup_training``, which runs after the wait whatever its outcome,
  finds the job still running and deletes the CR.
"""

from __future__ import annotations

import time

import pytest

from devtools.airflow_runs import DAG_ID
from tests.helpers import aws, wait_for

pytestmark = pytest.mark.runtime

TRAINING = ("sagemaker.aws.amazon.com/v1", "trainingjobs")
ON_KILL_LINE = "task killed by a user: deleting TrainingJob"


def start_hanging_run(api, sandbox, prefix: str) -> tuple[str, dict]:
    """Trigger a run whose training job stays InProgress; return it once wait_training is deferred."""
    run_id = api.trigger(DAG_ID, {"s3_prefix": prefix})["dag_run_id"]
    wait_for(
        lambda: api.task_instances(DAG_ID, run_id).get("wait_training", {}).get("state") == "deferred",
        600,
        0.5,
        "wait_training to defer",
    )
    (cr,) = [
        cr
        for cr in sandbox.kube.list_objects(*TRAINING)
        if f"/{prefix}/" in cr["spec"]["outputDataConfig"]["s3OutputPath"]
    ]
    return run_id, cr


def wait_until_the_trigger_polls(sandbox, cr: dict) -> None:
    """The triggerer runs the trigger once it polls the CR (the task's own first look came before)."""
    name, deferred_at = cr["metadata"]["name"], time.time()
    wait_for(
        lambda: any(
            r.method == "GET" and r.path.endswith(f"/trainingjobs/{name}") and r.started > deferred_at
            for r in sandbox.kube.requests
        ),
        120,
        0.2,
        "the trigger to poll the CR",
    )


def assert_stopped_and_failed(api, sandbox, run_id: str, cr: dict) -> dict:
    """The CR is gone, the job Stopped, the run failed at the wait; returns cleanup_training's XCom."""
    name, namespace = cr["metadata"]["name"], cr["metadata"]["namespace"]
    job = cr["status"]["sageMakerTrainingJobName"]
    sagemaker = aws(sandbox, "sagemaker")
    wait_for(lambda: sandbox.kube.get(*TRAINING, name, namespace) is None, 120, 0.5, "the CR to be deleted")
    wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped",
        60,
        0.5,
        "the SageMaker job to stop",
    )
    run = api.wait_run(DAG_ID, run_id, timeout=180)
    states = {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run_id).items()}
    assert run["state"] == "failed", states
    assert states["wait_training"] == "failed"
    assert states["promote_endpoint"] == states["smoke_test_endpoint"] == "upstream_failed"
    assert states["rollback_endpoint"] == "skipped"  # the promotion never ran
    assert states["cleanup_training"] == "success"
    return api.xcom(DAG_ID, run_id, "cleanup_training")


def test_marked_failed_while_the_trigger_runs_its_on_kill_deletes_the_cr(runtime, scheduled_run):
    api, sandbox = runtime.api, runtime.sandbox
    sandbox.arm_fault("hang", kind="TrainingJob")  # the job stays InProgress until stopped
    try:
        run_id, cr = start_hanging_run(api, sandbox, "marked-failed")
        name = cr["metadata"]["name"]
        wait_until_the_trigger_polls(sandbox, cr)
        api.set_task_state(DAG_ID, run_id, "wait_training", "failed")
        cleanup = assert_stopped_and_failed(api, sandbox, run_id, cr)
        logs = (
            api.task_log(DAG_ID, run_id, "wait_training") + runtime.airflow.log_path("triggerer").read_text()
        )
        assert ON_KILL_LINE in logs or "invoking on_kill" in logs, logs[-4000:]
        # The trigger's on_kill deleted it; the cleanup found it gone (or already being deleted).
        assert cleanup["wait_state"] == "failed"
        assert cleanup["name"] == name
    finally:
        sandbox.clear_faults()


def test_cleared_while_the_trigger_runs_its_on_kill_deletes_the_cr_and_the_rerun_fails(
    runtime, scheduled_run
):
    api, sandbox = runtime.api, runtime.sandbox
    sandbox.arm_fault("hang", kind="TrainingJob")
    try:
        run_id, cr = start_hanging_run(api, sandbox, "cleared")
        wait_until_the_trigger_polls(sandbox, cr)
        api.clear(DAG_ID, run_id, ["wait_training"])
        cleanup = assert_stopped_and_failed(api, sandbox, run_id, cr)
        wait = api.task_instances(DAG_ID, run_id)["wait_training"]
        assert wait["try_number"] == 2, wait  # cleared, so it ran again
        logs = (
            api.task_log(DAG_ID, run_id, "wait_training", 1)
            + runtime.airflow.log_path("triggerer").read_text()
        )
        assert ON_KILL_LINE in logs or "invoking on_kill" in logs, logs[-4000:]
        rerun = " ".join(api.task_log(DAG_ID, run_id, "wait_training", 2).split())
        name, namespace = cr["metadata"]["name"], cr["metadata"]["namespace"]
        assert f"TrainingJob {namespace}/{name}" in rerun and ("deleted" in rerun), rerun[-3000:]
        assert cleanup["deleted"] is False  # nothing left to clean: on_kill did it
    finally:
        sandbox.clear_faults()


def test_marked_failed_before_any_triggerer_runs_it_the_cleanup_task_stops_the_job(runtime, scheduled_run):
    api, sandbox, airflow = runtime.api, runtime.sandbox, runtime.airflow
    sandbox.arm_fault("hang", kind="TrainingJob")
    try:
        with airflow.paused("triggerer"):
            run_id, cr = start_hanging_run(api, sandbox, "marked-failed-early")
            ti = api.task_instances(DAG_ID, run_id)["wait_training"]
            assert ti["state"] == "deferred" and not ti.get("triggerer_job"), ti
            api.set_task_state(DAG_ID, run_id, "wait_training", "failed")
            cleanup = assert_stopped_and_failed(api, sandbox, run_id, cr)
            assert cleanup["deleted"] is True, cleanup
            assert cleanup["reason"].startswith("wait_training ended failed while TrainingJob"), cleanup
            assert "still running (InProgress)" in cleanup["reason"]
            assert ON_KILL_LINE not in api.task_log(DAG_ID, run_id, "wait_training")
    finally:
        sandbox.clear_faults()
        # resumed, it heartbeats again: later tests find it healthy whether or not this one passed
        wait_for(
            lambda: runtime.airflow.health()["triggerer"]["status"] == "healthy",
            120,
            1,
            "the triggerer to be healthy again",
        )
