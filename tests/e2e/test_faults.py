"""Faults end to end: the real ``airflow dags test`` CLI against a sandbox that misbehaves.

Each case injects one fault (operator/SageMaker through ``arm_fault``, Kubernetes API errors through
``sandbox.kube.faults``, or a human deleting the CR) and checks the final task states, the custom
resources left on the cluster and the SageMaker resources behind them.
"""

from __future__ import annotations

import threading

import pytest
from e2e_helpers import GROUP_VERSION, aws, custom_objects
from helpers import wait_for

pytestmark = pytest.mark.e2e

HOSTING_AND_SMOKE = "deploy_endpoint|smoke_test_endpoint"


def training_jobs(sandbox) -> list[dict]:
    return aws(sandbox, "sagemaker").list_training_jobs()["TrainingJobSummaries"]


def output(result) -> str:
    return result.stdout + "\n" + result.stderr


def test_stopped_training_fails_the_sensor_and_skips_hosting(sandbox, run_dag):
    sandbox.arm_fault("stop", kind="TrainingJob")
    result, run = run_dag()
    assert run.state == "failed", output(result)[-3000:]
    assert run.task_states["submit_training"] == "success"
    assert run.task_states["wait_training"] == "failed"
    assert run.task_states["deploy_endpoint"] == "upstream_failed"
    assert run.task_states["smoke_test_endpoint"] == "upstream_failed"
    assert "wait_training" not in run.xcoms  # never pushed a (successful) result
    assert "Stopped" in result.stdout

    (job,) = custom_objects(sandbox, "trainingjobs")
    assert job["status"]["trainingJobStatus"] == "Stopped"
    assert custom_objects(sandbox, "hostingdeployments") == []
    (summary,) = training_jobs(sandbox)
    assert summary["TrainingJobStatus"] == "Stopped"
    assert aws(sandbox, "sagemaker").list_endpoints()["Endpoints"] == []


def test_transient_kubernetes_api_errors_are_retried(sandbox, run_dag):
    faults = sandbox.kube.faults
    # Rules fire in insertion order: the 503s first, then one 429 with Retry-After.
    submit_503 = faults.add(method="POST", path_regex=r"/trainingjobs$", status=503, count=2)
    submit_429 = faults.add(method="POST", path_regex=r"/trainingjobs$", status=429, count=1, retry_after=1)
    poll_503 = faults.add(method="GET", path_regex=r"/trainingjobs/[^/]+$", status=503, count=3)
    poll_429 = faults.add(
        method="GET", path_regex=r"/trainingjobs/[^/]+$", status=429, count=1, retry_after=1
    )

    result, run = run_dag(mark_success_pattern=HOSTING_AND_SMOKE)
    assert run.state == "success", output(result)[-4000:]
    assert run.task_states["submit_training"] == "success"
    assert run.task_states["wait_training"] == "success"
    assert run.xcoms["submit_training"]["reattached"] is False

    assert faults.hits(submit_503) == 2
    assert faults.hits(submit_429) == 1
    assert faults.hits(poll_503) == 3
    assert faults.hits(poll_429) == 1
    assert "transient Kubernetes API error" in output(result)

    (summary,) = training_jobs(sandbox)  # exactly one job despite the retried create
    assert summary["TrainingJobStatus"] == "Completed"
    (job,) = custom_objects(sandbox, "trainingjobs")
    assert job["status"]["trainingJobStatus"] == "Completed"
    assert run.xcoms["wait_training"]["model_path"] == job["status"]["modelPath"]


def test_endpoint_failure_fails_the_deploy_with_the_reason(sandbox, run_dag):
    reason = "InsufficientCapacity: injected"
    sandbox.arm_fault(f"endpoint-fail:{reason}", kind="HostingDeployment")
    result, run = run_dag()
    assert run.state == "failed", output(result)[-3000:]
    assert run.task_states["wait_training"] == "success"
    assert run.task_states["deploy_endpoint"] == "failed"
    assert run.task_states["smoke_test_endpoint"] == "upstream_failed"
    assert reason in result.stdout, output(result)[-4000:]

    (hosting,) = custom_objects(sandbox, "hostingdeployments")
    assert hosting["status"]["endpointStatus"] == "Failed"
    endpoints = aws(sandbox, "sagemaker").list_endpoints()["Endpoints"]
    assert [e["EndpointStatus"] for e in endpoints] in ([], ["Failed"])


def test_training_cr_deleted_while_waiting(sandbox, run_dag):
    sandbox.arm_fault("hang", kind="TrainingJob")
    outcome: dict = {}

    def run_in_background() -> None:
        try:
            outcome["value"] = run_dag(mark_success_pattern=HOSTING_AND_SMOKE)
        except BaseException as e:  # surfaced below
            outcome["error"] = e

    runner = threading.Thread(target=run_in_background, daemon=True)
    runner.start()

    def in_progress() -> dict | None:
        for cr in custom_objects(sandbox, "trainingjobs"):
            if (cr.get("status") or {}).get("trainingJobStatus") == "InProgress":
                return cr
        return None

    cr = wait_for(in_progress, timeout=400, interval=0.5, what="the TrainingJob CR to be InProgress")
    name, namespace = cr["metadata"]["name"], cr["metadata"]["namespace"]
    sandbox.kube.delete(GROUP_VERSION, "trainingjobs", name, namespace=namespace)

    runner.join(timeout=600)
    assert not runner.is_alive(), "the DAG run did not finish"
    if "error" in outcome:
        raise outcome["error"]
    result, run = outcome["value"]
    assert run.state == "failed", output(result)[-3000:]
    assert run.task_states["submit_training"] == "success"
    assert run.task_states["wait_training"] == "failed"
    assert run.task_states["deploy_endpoint"] == "upstream_failed"
    flat = " ".join(result.stdout.split())
    assert f"TrainingJob {namespace}/{name}" in flat, result.stdout[-4000:]
    assert "deleted" in flat

    # The operator stopped the job and released its finalizer: the CR is gone, the job Stopped.
    wait_for(lambda: custom_objects(sandbox, "trainingjobs") == [], timeout=60, what="the CR to go")
    (summary,) = training_jobs(sandbox)
    wait_for(
        lambda: (
            aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=summary["TrainingJobName"])[
                "TrainingJobStatus"
            ]
            == "Stopped"
        ),
        timeout=60,
        what="the SageMaker training job to be Stopped",
    )
    assert custom_objects(sandbox, "hostingdeployments") == []
