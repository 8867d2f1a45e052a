"""The cleanup task against the sandbox: it stops a job whose wait ended without success, and leaves a
finished job's CR (the record) and a successful wait alone. Its wiring into a DAG run (XCom, the
wait's state) is exercised by every end-to-end run and by ``tests/runtime``."""

from __future__ import annotations

import pytest

from sagemaker_k8s.operators.cleanup import SageMakerK8sCleanupOperator
from tests.helpers import aws, wait_for
from tests.operators.operator_helpers import GROUP_VERSION, assert_cr_gone_and_job_stopped, start_hanging_job

pytestmark = pytest.mark.usefixtures("sandbox_env")


def target(body: dict) -> tuple[str, str]:
    return body["metadata"]["name"], body["metadata"]["namespace"]


@pytest.mark.parametrize("wait_state", ["failed", "upstream_failed", "skipped", None])
def test_a_running_job_whose_wait_did_not_succeed_is_stopped(sandbox, upload_sample, wait_state):
    _, body = start_hanging_job(sandbox, upload_sample, "submit_training")
    result = SageMakerK8sCleanupOperator(task_id="cleanup_training").clean(*target(body), wait_state)
    assert result["deleted"] is True
    assert result["wait_state"] == wait_state
    assert "is still running (InProgress)" in result["reason"]
    assert_cr_gone_and_job_stopped(sandbox, body)


def test_a_successful_wait_is_left_alone(sandbox, upload_sample):
    _, body = start_hanging_job(sandbox, upload_sample, "submit_training")
    result = SageMakerK8sCleanupOperator(task_id="cleanup_training").clean(*target(body), "success")
    assert result == {
        **dict(zip(("name", "namespace"), target(body), strict=True)),
        "wait_state": "success",
        "deleted": False,
        "reason": None,
    }
    assert not any(r.method == "DELETE" for r in sandbox.kube.requests)
    job = body["spec"]["trainingJobName"]
    assert (
        aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=job)["TrainingJobStatus"]
        == "InProgress"
    )


def test_a_finished_job_keeps_its_cr_as_the_record(sandbox, upload_sample):
    _, body = start_hanging_job(sandbox, upload_sample, "submit_training")
    sandbox.clear_faults()  # released: the job completes (then the user marks the wait failed)
    name, namespace = target(body)

    def status():
        obj = sandbox.kube.get(GROUP_VERSION, "trainingjobs", name, namespace=namespace)
        return (obj.get("status") or {}).get("trainingJobStatus")

    wait_for(lambda: status() == "Completed", timeout=60, what=f"{name} Completed")
    result = SageMakerK8sCleanupOperator(task_id="cleanup_training").clean(name, namespace, "failed")
    assert (result["deleted"], result["reason"]) == (False, None)
    assert status() == "Completed"
    assert not any(r.method == "DELETE" for r in sandbox.kube.requests)


def test_a_cr_already_gone_is_nothing_to_do(sandbox):
    result = SageMakerK8sCleanupOperator(task_id="cleanup_training").clean("tj-gone", "default", "failed")
    assert (result["deleted"], result["reason"]) == (False, None)
    assert [r.method for r in sandbox.kube.requests if "tj-gone" in r.path] == ["GET"]
