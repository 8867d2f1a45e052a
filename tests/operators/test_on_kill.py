"""``on_kill`` of the training operator and of the sensor deletes the CR, which stops the job.

Airflow calls ``on_kill`` when a running task is marked failed or cleared; here it is called
directly on operators whose CR is live in the sandbox, with a SageMaker job held ``InProgress``.
"""

from __future__ import annotations

import pytest

from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
from sagemaker_k8s.sensors.training import SageMakerK8sTrainingSensor
from tests.operators.operator_helpers import assert_cr_gone_and_job_stopped, start_hanging_job


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
