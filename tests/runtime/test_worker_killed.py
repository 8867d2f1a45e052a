"""Fault matrix #7 on the real runtime: the task process running ``submit_training`` is killed
(SIGKILL, so no ``on_kill``) after the API server created its TrainingJob CR and before the answer
arrived. The scheduler retries the task; the retry computes the same deterministic names and
reattaches: exactly one CR and one SageMaker training job."""

from __future__ import annotations

import os
import signal

import pytest

from devtools.airflow_runs import DAG_ID
from tests.helpers import aws, wait_for

pytestmark = pytest.mark.runtime

PREFIX = "worker-killed"


def test_a_killed_submit_is_retried_and_reattaches(runtime, scheduled_run):
    api, sandbox = runtime.api, runtime.sandbox
    # Hold submit_training right after its create: the API server commits the CR, then answers 60 s later.
    rule = sandbox.kube.faults.add("POST", r"/trainingjobs$", status=None, delay_after_seconds=60, count=1)
    try:
        run_id = api.trigger(DAG_ID, {"s3_prefix": PREFIX})["dag_run_id"]
        wait_for(lambda: mine(sandbox), 600, 0.5, "the TrainingJob CR to be created")
        ti = wait_for(
            lambda: (
                (t := api.task_instances(DAG_ID, run_id)["submit_training"])["state"] == "running"
                and t.get("pid")
                and t
            ),
            60,
            0.5,
            "submit_training to report its pid",
        )
        assert ti["try_number"] == 1
        os.kill(ti["pid"], signal.SIGKILL)
        wait_for(
            lambda: api.task_instances(DAG_ID, run_id)["submit_training"]["state"] == "up_for_retry",
            120,
            0.5,
            "the killed try to be marked up_for_retry",
        )
    finally:
        sandbox.kube.faults.remove(rule)

    run = api.wait_run(DAG_ID, run_id, timeout=600)
    assert run["state"] == "success", api.task_instances(DAG_ID, run_id)
    submit = api.task_instances(DAG_ID, run_id)["submit_training"]
    assert submit["try_number"] == 2
    assert api.xcom(DAG_ID, run_id, "submit_training")["reattached"] is True
    (cr,) = mine(sandbox)
    jobs = sandbox_jobs(sandbox)
    assert jobs == [cr["status"]["sageMakerTrainingJobName"]], jobs


def mine(sandbox) -> list[dict]:
    return [
        cr
        for cr in sandbox.kube.list_objects("sagemaker.aws.amazon.com/v1", "trainingjobs")
        if f"/{PREFIX}/" in cr["spec"]["outputDataConfig"]["s3OutputPath"]
    ]


def sandbox_jobs(sandbox) -> list[str]:
    sagemaker = aws(sandbox, "sagemaker")
    names = [
        s["TrainingJobName"] for s in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
    ]
    return [
        n
        for n in names
        if f"/{PREFIX}/"
        in sagemaker.describe_training_job(TrainingJobName=n)["OutputDataConfig"]["S3OutputPath"]
    ]
