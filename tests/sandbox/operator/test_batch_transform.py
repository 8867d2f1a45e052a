"""The operator emulator's BatchTransformJob controller (notes A.2, A.6) and a stand-alone Model (A.7), one
sandbox for the module: a transform over a prefix of several objects writes one ``<object>.out`` per object
with one prediction per input row, in order; SageMaker failures show as ``Failed`` without ``additional``
(the real controller does not copy FailureReason), a rejected CreateTransformJob as ``Failed`` with the AWS
error, deleting an InProgress CR stops the job; the published Model and batch-transform samples work with
kubectl."""

from __future__ import annotations

import itertools
import json
import urllib.request

import pytest
import yaml

from sandbox.operator.naming import generated_name
from tests.helpers import wait_for
from tests.sandbox.operator.operator_helpers import (
    FINALIZER,
    QUICK_HYPERPARAMETERS,
    StatusHistory,
    aws,
    get_cr,
    wait_gone,
    wait_passes,
    wait_status,
)
from tests.sandbox.operator.operator_hosting_helpers import train
from tests.sandbox.operator.operator_jobs_helpers import (
    BT,
    INITIAL,
    held_out_split,
    kubectl,
    put_objects,
    s3_objects,
    sample,
    sample_text,
    transform_cr,
)

STATUS = "transformJobStatus"
TERMINAL = ("Completed", "Failed", "Stopped")


def describe(sandbox, name: str) -> dict:
    return aws(sandbox, "sagemaker").describe_transform_job(TransformJobName=name)


def accuracy(predictions: list[float], labels: list[int]) -> float:
    assert len(predictions) == len(labels)
    return sum(int(p) == y for p, y in zip(predictions, labels, strict=True)) / len(labels)


@pytest.fixture(scope="module")
def model_name(shared_sandbox, shared_data) -> str:
    """The published stand-alone Model sample (kubectl), serving a model trained through a TrainingJob CR;
    returns its status.sageMakerModelName, the SageMaker name a BatchTransformJob needs."""
    sandbox = shared_sandbox
    model_path = train(sandbox, shared_data, "for-batch", QUICK_HYPERPARAMETERS)
    text = (
        sample_text("testfiles-xgboost-model.yaml")
        .replace("{ROLE_ARN}", sandbox.info.execution_role_arn)
        .replace("{DATA_BUCKET}", sandbox.info.bucket)
    )
    cr = yaml.safe_load(text)
    cr["spec"]["region"] = sandbox.info.region
    cr["spec"]["primaryContainer"]["modelDataUrl"] = model_path
    kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(cr))
    status = wait_status(sandbox, "models", "xgboost-model", "status", ("Created", "Error"), timeout=30)
    assert status["status"] == "Created", status
    uid = get_cr(sandbox, "models", "xgboost-model")["metadata"]["uid"]
    assert status["sageMakerModelName"] == generated_name("xgboost-model", uid)
    return status["sageMakerModelName"]


def test_transform_over_several_objects_predicts_every_row_in_order(shared_sandbox, shared_data, model_name):
    sandbox = shared_sandbox
    rows, labels = held_out_split()
    cuts = [0, 100, 350, len(rows)]  # three objects of different sizes
    parts = {
        f"part-{i}.csv": b"\n".join(rows[a:b]) + b"\n" for i, (a, b) in enumerate(itertools.pairwise(cuts))
    }
    source, target = f"{shared_data}batch-in/", f"{shared_data}batch/run-1"
    put_objects(sandbox, source, parts)
    # The controller reports the phases it sees when it polls: the job stays InProgress long enough for
    # a poll to see it whatever the machine's load (with the sandbox's 50 ms phases it can finish first).
    faults = sandbox.moto.simulator.faults
    faults.add("score-*", "slow", delay=0.5)
    try:
        created = sandbox.kube.apply(transform_cr(sandbox, "score", model_name, source, target))
        history = StatusHistory(sandbox, BT, created, STATUS)
        status = wait_status(sandbox, BT, "score", STATUS, TERMINAL, timeout=60)
    finally:
        faults.clear("score-*")
    assert status[STATUS] == "Completed", status
    wait_for(lambda: history.primary[-1:] == ["Completed"], timeout=10, what="the watch to see Completed")
    assert history.primary == [INITIAL, "InProgress", "Completed"]

    cr = get_cr(sandbox, BT, "score")
    job = generated_name("score", created["metadata"]["uid"])
    assert cr["spec"]["transformJobName"] == status["sageMakerTransformJobName"] == job  # written back
    assert cr["metadata"]["finalizers"] == [FINALIZER]
    assert "additional" not in status and status["lastCheckTime"].endswith("Z")
    assert describe(sandbox, job)["TransformJobStatus"] == "Completed"

    outputs = s3_objects(sandbox, target)
    bucket_prefix = target.removeprefix(f"s3://{sandbox.info.bucket}/")
    assert sorted(outputs) == [f"{bucket_prefix}/{name}.out" for name in sorted(parts)]
    predictions = []
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        body = outputs[f"{bucket_prefix}/part-{i}.csv.out"].decode()
        assert body.endswith("\n")  # AssembleWith Line: every record's output ends with a newline
        lines = body.splitlines()
        assert len(lines) == b - a  # one prediction per input row
        predictions += [float(line) for line in lines]
    assert accuracy(predictions, labels) >= 0.8


def test_published_batch_transform_sample_applied_with_kubectl_completes(
    shared_sandbox, shared_data, model_name
):
    sandbox = shared_sandbox
    cr = sample("xgboost-mnist-batchtransform.yaml")
    cr["spec"]["region"] = sandbox.info.region
    cr["spec"]["modelName"] = model_name
    cr["spec"]["transformInput"]["dataSource"]["s3DataSource"]["s3Uri"] = f"{shared_data}test"
    cr["spec"]["transformOutput"]["s3OutputPath"] = f"s3://{sandbox.info.bucket}/sagemaker-tensorflow-model"
    assert "created" in kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(cr))
    status = wait_status(sandbox, BT, "xgboost-batch", STATUS, TERMINAL, timeout=60)
    assert status[STATUS] == "Completed", status
    row = kubectl(sandbox, "get", "batchtransformjob", "xgboost-batch", "--no-headers").split()
    assert (row[0], row[1], row[-1]) == ("xgboost-batch", "Completed", status["sageMakerTransformJobName"])
    # no SplitType: each object is one request; no AssembleWith: the response as the container answers it
    [(key, body)] = s3_objects(sandbox, f"s3://{sandbox.info.bucket}/sagemaker-tensorflow-model/").items()
    assert key == "sagemaker-tensorflow-model/examples.out"
    _, labels = held_out_split()
    assert accuracy([float(v) for v in body.decode().splitlines()], labels) >= 0.8
    kubectl(sandbox, "delete", "batchtransformjob", "xgboost-batch")
    wait_gone(sandbox, BT, "xgboost-batch")


def test_failed_transform_shows_failed_without_the_reason(armed, shared_data, model_name):
    sandbox = armed
    request = urllib.request.Request(  # noqa: S310 - the control API, as `python -m sandbox fault` calls it
        f"{sandbox.info.control_url}/faults/operator",
        data=json.dumps(
            {"fault": "fail:ClientError: armed", "kind": "BatchTransformJob", "name": "broken-*"}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback control API
        assert json.loads(response.read()) == {"armed": "fail:ClientError: armed"}
    source = f"{shared_data}test/"
    sandbox.kube.apply(transform_cr(sandbox, "broken-1", model_name, source, f"{shared_data}batch/broken"))
    sandbox.kube.apply(transform_cr(sandbox, "annotated", model_name, source, f"{shared_data}batch/annotated",
                                    fault="fail:ClientError: annotated"))  # fmt: skip
    for name, reason in (("broken-1", "ClientError: armed"), ("annotated", "ClientError: annotated")):
        status = wait_status(sandbox, BT, name, STATUS, TERMINAL, timeout=30)
        assert status[STATUS] == "Failed" and "additional" not in status, status
        assert describe(sandbox, status["sageMakerTransformJobName"])["FailureReason"] == reason


def test_transform_of_a_missing_model_artifact_fails_in_sagemaker(shared_sandbox, shared_data):
    sandbox = shared_sandbox
    sm = aws(sandbox, "sagemaker")
    sm.create_model(
        ModelName="no-artifact",
        ExecutionRoleArn=sandbox.info.execution_role_arn,
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": f"{shared_data}nowhere/model.tar.gz"},
    )
    sandbox.kube.apply(
        transform_cr(sandbox, "no-artifact", "no-artifact", f"{shared_data}test/", f"{shared_data}x")
    )
    status = wait_status(sandbox, BT, "no-artifact", STATUS, TERMINAL, timeout=30)
    assert status[STATUS] == "Failed" and "additional" not in status
    reason = describe(sandbox, status["sageMakerTransformJobName"])["FailureReason"]
    assert reason.startswith("ClientError: Failed to download model data")


def test_rejected_create_is_failed_with_the_aws_error_until_the_spec_changes(
    shared_sandbox, shared_data, model_name
):
    sandbox = shared_sandbox
    cr = transform_cr(sandbox, "no-model", "no-such-model", f"{shared_data}test/", f"{shared_data}batch/none")
    sandbox.kube.apply(cr)
    status = wait_status(sandbox, BT, "no-model", STATUS, "Failed", timeout=30)
    assert status["additional"].startswith('ValidationException: Could not find model "arn:aws:sagemaker:')
    assert "\n\tstatus code: 400, request id: " in status["additional"]
    wait_passes(sandbox, 3)
    assert get_cr(sandbox, BT, "no-model")["status"] == status  # a 400: not retried
    fixed = get_cr(sandbox, BT, "no-model")
    fixed["spec"]["modelName"] = model_name  # a spec change: reconciled again, created this time
    sandbox.kube.apply(fixed)
    status = wait_status(sandbox, BT, "no-model", STATUS, "Completed", timeout=30)
    assert "additional" not in status


def test_deleting_an_in_progress_transform_stops_it(shared_sandbox, shared_data, model_name):
    sandbox = shared_sandbox
    source = f"{shared_data}test/"
    sandbox.kube.apply(
        transform_cr(sandbox, "stuck", model_name, source, f"{shared_data}batch/stuck", fault="hang")
    )
    status = wait_status(sandbox, BT, "stuck", STATUS, "InProgress", timeout=30)
    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", BT, "stuck", namespace="default")
    wait_gone(sandbox, BT, "stuck")
    assert describe(sandbox, status["sageMakerTransformJobName"])["TransformJobStatus"] == "Stopped"
