"""``on_kill`` of the training operator and of the sensor deletes the CR, which stops the job.

Airflow calls ``on_kill`` when a running task is marked failed or cleared; here it is called
directly on operators whose CR is live in the sandbox, with a SageMaker job held ``InProgress``.
"""

from __future__ import annotations

import boto3
import pytest
from helpers import wait_for

from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB
from sagemaker_k8s.operators.submit import submit_or_reattach
from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
from sagemaker_k8s.params import resolve_run_config
from sagemaker_k8s.sensors.training import SageMakerK8sTrainingSensor

GROUP_VERSION = "sagemaker.aws.amazon.com/v1"


def start_hanging_job(sandbox, upload_sample, task_id: str) -> tuple[SageMakerK8sTrainingOperator, dict]:
    upload_sample("xgboost-mnist")
    sandbox.arm_fault("hang", kind="TrainingJob")
    cfg = resolve_run_config(
        {"hyperparameters": {"num_round": 2}},
        variables={
            "sagemaker_k8s_region": sandbox.info.region,
            "sagemaker_k8s_bucket": sandbox.info.bucket,
            "sagemaker_k8s_execution_role_arn": sandbox.info.execution_role_arn,
        },
        connection_region=None,
    )
    operator = SageMakerK8sTrainingOperator(task_id=task_id, config=cfg.to_dict())
    body = operator.build(cfg, "on_kill_dag", "manual__2026-11-30T00:00:00+00:00")
    submit_or_reattach(operator.hook, LEGACY_TRAINING_JOB, body)
    name = body["metadata"]["name"]

    def in_progress():
        obj = sandbox.kube.get(GROUP_VERSION, "trainingjobs", name, namespace="default")
        return (obj.get("status") or {}).get("trainingJobStatus") == "InProgress"

    wait_for(in_progress, timeout=60, what=f"{name} InProgress")
    return operator, body


def assert_cr_gone_and_job_stopped(sandbox, body: dict) -> None:
    name, job = body["metadata"]["name"], body["spec"]["trainingJobName"]
    wait_for(
        lambda: sandbox.kube.get(GROUP_VERSION, "trainingjobs", name, namespace="default") is None,
        timeout=60,
        what=f"TrainingJob {name} deleted",
    )
    sm = boto3.client(
        "sagemaker",
        endpoint_url=sandbox.info.aws_endpoint_url,
        region_name=sandbox.info.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto
    )
    assert sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped"


@pytest.mark.usefixtures("sandbox_env")
def test_training_operator_on_kill_deletes_the_cr_and_stops_the_job(sandbox, upload_sample):
    operator, body = start_hanging_job(sandbox, upload_sample, "submit_training")
    operator._submitted = (body["metadata"]["name"], body["metadata"]["namespace"])
    operator.on_kill()
    assert_cr_gone_and_job_stopped(sandbox, body)


@pytest.mark.usefixtures("sandbox_env")
def test_sensor_on_kill_deletes_the_cr_and_stops_the_job(sandbox, upload_sample):
    _, body = start_hanging_job(sandbox, upload_sample, "submit_training")
    sensor = SageMakerK8sTrainingSensor(
        task_id="wait_training",
        training={"name": body["metadata"]["name"], "namespace": body["metadata"]["namespace"]},
    )
    sensor.on_kill()
    assert_cr_gone_and_job_stopped(sandbox, body)


@pytest.mark.usefixtures("sandbox_env")
def test_on_kill_before_submit_does_nothing(sandbox):
    operator = SageMakerK8sTrainingOperator(task_id="submit_training", config={})
    operator.on_kill()  # nothing submitted: no call, no error
    assert not any(r.method == "DELETE" for r in sandbox.kube.requests)
