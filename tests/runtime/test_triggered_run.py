"""A run triggered through the REST API on the real runtime (PostgreSQL, LocalExecutor, triggerer):
run-time conf reaches the CRs, and both deferrable waits run in the triggerer process, not inline."""

from __future__ import annotations

import pytest

from devtools.airflow_runs import DAG_ID
from tests.helpers import SKIPPED_IN_A_FIRST_RUN, dag_task_ids
from tests.runtime.runtime_helpers import exit_taken_in, watch_run

pytestmark = pytest.mark.runtime


def training_jobs(sandbox) -> list[dict]:
    return sandbox.kube.list_objects("sagemaker.aws.amazon.com/v1", "trainingjobs")


@pytest.fixture(scope="module")
def triggered(runtime, scheduled_run):
    # Make both waits outlast their task's first look, whatever the machine's load: the training job
    # hangs in its Training phase until its sensor has deferred (see below); the endpoint update (the
    # scheduled run created the endpoint; this run forces its promotion) takes 30 s.
    faults = runtime.sandbox.moto.simulator.faults
    faults.add("*submit-training*", "hang")
    faults.add("sagemaker-xgboost-mnist", "slow", phase="Updating", delay=30)

    # Released only once the scheduler has taken in the deferring process's exit (try 1), not as soon
    # as the sensor is deferred: a trigger firing within seconds races Airflow 3.3's scheduler
    # (``exit_taken_in``). Real training jobs take minutes; the hold gives the test that order.
    try:
        run = runtime.api.trigger(
            DAG_ID,
            {"hyperparameters": {"num_round": 7}, "s3_prefix": "triggered-by-api", "force_promote": True},
        )
        assert run["run_type"] == "manual"
        run_id = run["dag_run_id"]

        def release_once_the_deferral_is_taken_in(watched) -> None:
            if "deferred" in watched.states("wait_training") and exit_taken_in(
                runtime.airflow, run_id, "wait_training", 1
            ):
                faults.clear("*submit-training*")

        return watch_run(runtime.api, run_id, on_poll=release_once_the_deferral_is_taken_in)
    finally:
        faults.clear()


def test_run_succeeds_with_every_task_green(runtime, triggered):
    assert triggered.run["state"] == "success", triggered.seen
    tis = runtime.api.task_instances(DAG_ID, triggered.run["dag_run_id"])
    # the other gate branch, nothing to roll back, and the tuning branch (no tuning param)
    expected = {t: "skipped" if t in SKIPPED_IN_A_FIRST_RUN else "success" for t in dag_task_ids()}
    assert {t: ti["state"] for t, ti in tis.items()} == expected


@pytest.mark.parametrize(
    ("task_id", "kind"), [("wait_training", "TrainingJob"), ("promote_endpoint", "HostingDeployment")]
)
def test_deferrable_waits_run_in_the_triggerer(runtime, triggered, task_id, kind):
    # The task went to "deferred" and a triggerer job held its trigger; the LocalExecutor's worker slot
    # was free meanwhile. The task log shows the handover and the trigger's own poll lines.
    assert "deferred" in triggered.states(task_id), triggered.seen
    assert triggered.triggerer_jobs(task_id), f"no triggerer job ever held {task_id}'s trigger"
    log = runtime.api.task_log(DAG_ID, triggered.run["dag_run_id"], task_id)
    deferred = log.index("Pausing task as DEFERRED")
    started = log.index(f"/{task_id}/-1/1 (ID", deferred)  # "trigger <dag>/<run>/<task>/-1/1 (ID n) starting"
    fired = log.index("Trigger fired event", started)
    assert f"{kind} default/" in log[started:fired], log[started:fired]
    assert log.index("Pushing xcom", fired) > fired  # resumed in a worker: execute_complete returned


def test_conf_values_reach_the_custom_resources(runtime, triggered):
    mine = [
        cr
        for cr in training_jobs(runtime.sandbox)
        if "/triggered-by-api/" in cr["spec"]["outputDataConfig"]["s3OutputPath"]
    ]
    assert len(mine) == 1, [cr["spec"]["outputDataConfig"] for cr in training_jobs(runtime.sandbox)]
    hyper = {h["name"]: h["value"] for h in mine[0]["spec"]["hyperParameters"]}
    assert hyper["num_round"] == "7"
    assert mine[0]["status"]["trainingJobStatus"] == "Completed"
