"""Fault matrix #8 on the real runtime: a user marks the deferred training wait failed in Airflow while
the SageMaker job runs. The triggerer cancels the trigger and calls its ``on_kill``, which deletes the
TrainingJob CR; the operator's finalizer stops the SageMaker job. No orphan CR, no job left running."""

from __future__ import annotations

import pytest
from helpers import aws, wait_for

from devtools.airflow_runs import DAG_ID

pytestmark = pytest.mark.e2e

TRAINING = ("sagemaker.aws.amazon.com/v1", "trainingjobs")


def test_marking_the_deferred_wait_failed_deletes_the_cr_and_stops_the_job(runtime, scheduled_run):
    api, sandbox = runtime.api, runtime.sandbox
    sandbox.arm_fault("hang", kind="TrainingJob")  # the job stays InProgress until stopped
    try:
        run_id = api.trigger(DAG_ID, {"s3_prefix": "marked-failed"})["dag_run_id"]
        wait_for(
            lambda: api.task_instances(DAG_ID, run_id).get("wait_training", {}).get("state") == "deferred",
            600,
            1,
            "wait_training to defer",
        )
        (cr,) = [
            cr
            for cr in sandbox.kube.list_objects(*TRAINING)
            if "/marked-failed/" in cr["spec"]["outputDataConfig"]["s3OutputPath"]
        ]
        name, namespace = cr["metadata"]["name"], cr["metadata"]["namespace"]
        job = cr["status"]["sageMakerTrainingJobName"]
        sagemaker = aws(sandbox, "sagemaker")
        assert sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "InProgress"

        api.set_task_state(DAG_ID, run_id, "wait_training", "failed")

        wait_for(
            lambda: sandbox.kube.get(*TRAINING, name, namespace) is None, 60, 0.5, "the CR to be deleted"
        )
        wait_for(
            lambda: sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped",
            60,
            0.5,
            "the SageMaker job to stop",
        )
        run = api.wait_run(DAG_ID, run_id, timeout=120)
        assert run["state"] == "failed"
        states = {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run_id).items()}
        assert states["wait_training"] == "failed"
        assert states["deploy_endpoint"] == "upstream_failed"
        triggerer_log = runtime.airflow.log_path("triggerer").read_text()
        assert "invoking on_kill" in triggerer_log or f"deleting TrainingJob {namespace}/{name}" in (
            api.task_log(DAG_ID, run_id, "wait_training")
        )
    finally:
        sandbox.clear_faults()
