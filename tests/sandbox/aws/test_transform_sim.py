"""Batch transform in the SageMaker simulator, against the real moto HTTP server: every row of every object
under the input prefix is predicted with the model's booster and written to ``<output>/<object>.out`` as
SageMaker splits and assembles it; failures carry SageMaker-style FailureReasons; StopTransformJob; faults."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from sandbox.aws import seed_account, xgb_algo

from .conftest import REGION, client, sim_threads, to_csv, wait_for

TERMINAL = ("Completed", "Failed", "Stopped")


@pytest.fixture(scope="module")
def env(moto, mnist):
    """A model trained here (a booster packaged as SageMaker's model.tar.gz) and the test rows in S3."""
    seed = seed_account(moto.url, region=REGION)
    s3, sm = client(moto.url, "s3"), client(moto.url, "sagemaker")
    X, y = mnist["train"]
    booster = xgb.train(
        {"objective": "multi:softmax", "num_class": 10, "max_depth": 3, "max_bin": 32, "nthread": 1},
        xgb.DMatrix(X[:1500].astype(np.float32), label=y[:1500]),
        num_boost_round=4,
    )
    s3.put_object(Bucket=seed.bucket, Key="model/model.tar.gz", Body=xgb_algo.package_model(booster))
    s3.put_object(Bucket=seed.bucket, Key="model/broken.tar.gz", Body=b"not a tar.gz")
    for name, key in (("model", "model/model.tar.gz"), ("broken-model", "model/broken.tar.gz")):
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=seed.execution_role_arn,
            PrimaryContainer={"Image": "xgboost:1", "ModelDataUrl": f"s3://{seed.bucket}/{key}"},
        )
    test_X, _ = mnist["test"]
    saved, moto.simulator.phase_delay = moto.simulator.phase_delay, 0.05
    yield {"seed": seed, "sim": moto.simulator, "sm": sm, "s3": s3, "booster": booster, "X": test_X[:300]}
    moto.simulator.phase_delay = saved


@pytest.fixture(autouse=True)
def isolate(request):
    yield
    if "env" in request.fixturenames:
        env = request.getfixturevalue("env")
        env["sim"].faults.clear()
        assert env["sim"].wait_idle(timeout=20), env["sim"].running()
        assert sim_threads() == []


def put(env, key: str, body: bytes) -> None:
    env["s3"].put_object(Bucket=env["seed"].bucket, Key=key, Body=body)


def get(env, key: str) -> bytes:
    return env["s3"].get_object(Bucket=env["seed"].bucket, Key=key)["Body"].read()


def keys(env, prefix: str) -> list[str]:
    listed = env["s3"].list_objects_v2(Bucket=env["seed"].bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def transform(
    env, name: str, source: str, output: str, *, model="model", split="Line", assemble="Line", **extra
):
    bucket = env["seed"].bucket
    transform_input = {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{source}"}},
        "ContentType": "text/csv",
        "SplitType": split,
        **extra.pop("transform_input", {}),
    }
    env["sm"].create_transform_job(
        TransformJobName=name,
        ModelName=model,
        TransformInput=transform_input,
        TransformOutput={"S3OutputPath": f"s3://{bucket}/{output}", "AssembleWith": assemble},
        TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
        **extra,
    )
    return wait_for(
        lambda: env["sm"].describe_transform_job(TransformJobName=name),
        lambda d: d["TransformJobStatus"] in TERMINAL,
        timeout=30,
    )


def expected(env, rows: np.ndarray) -> list[float]:
    return [float(p) for p in env["booster"].predict(xgb.DMatrix(rows.astype(np.float32)))]


def test_every_row_of_every_object_is_predicted_in_order(env):
    X = env["X"]
    cuts = [(0, 50), (50, 170), (170, 300)]
    for i, (a, b) in enumerate(cuts):
        put(env, f"in/multi/part-{i}.csv", to_csv(X[a:b]))
    described, seen = transform(env, "multi", "in/multi/", "out/multi")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert seen[0]["TransformJobStatus"] == "InProgress"
    assert (
        described["TransformStartTime"] <= described["TransformEndTime"] and "FailureReason" not in described
    )
    assert keys(env, "out/multi/") == [f"out/multi/part-{i}.csv.out" for i in range(3)]
    for i, (a, b) in enumerate(cuts):
        body = get(env, f"out/multi/part-{i}.csv.out").decode()
        assert body.endswith("\n") and len(body.splitlines()) == b - a
        assert [float(v) for v in body.splitlines()] == expected(env, X[a:b])
    summaries = env["sm"].list_transform_jobs()["TransformJobSummaries"]
    assert any(s["TransformJobName"] == "multi" for s in summaries)


def test_single_records_gzip_input_and_unsplit_objects(env):
    X = env["X"][:40]
    put(env, "in/gz/rows.csv.gz", gzip.compress(to_csv(X)))
    described, _ = transform(
        env,
        "single",
        "in/gz/",
        "out/single",
        BatchStrategy="SingleRecord",
        transform_input={"CompressionType": "Gzip"},
    )
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert get(env, "out/single/rows.csv.gz.out").decode().splitlines() == [repr(v) for v in expected(env, X)]
    # SplitType None: the object is one request; AssembleWith None: the response as the container wrote it
    put(env, "in/whole/rows", to_csv(X))
    described, _ = transform(env, "whole", "in/whole/rows", "out/whole", split="None", assemble="None")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = get(env, "out/whole/rows.out").decode()
    assert not body.endswith("\n") and [float(v) for v in body.split("\n")] == expected(env, X)


@pytest.mark.parametrize(
    ("name", "source", "model", "reason"),
    [
        ("no-input", "in/nothing-here/", "model", 'ClientError: No S3 objects found under S3 URL "s3://'),
        ("bad-model", "in/whole/", "broken-model", 'ClientError: Failed to load the model of container "'),
        ("wrong-features", "in/narrow/", "model", "ClientError: See job logs for more information."),
    ],
)
def test_failures_end_failed_with_a_reason(env, name, source, model, reason):
    put(env, "in/narrow/rows.csv", b"1,2,3\n4,5,6\n")
    if source == "in/whole/":
        put(env, "in/whole/rows", to_csv(env["X"][:5]))
    described, _ = transform(env, name, source, f"out/{name}", model=model)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(reason), described["FailureReason"]
    assert keys(env, f"out/{name}/") == []


def test_stop_fault_and_errors(env):
    sm, sim = env["sm"], env["sim"]
    put(env, "in/stop/rows.csv", to_csv(env["X"][:10]))
    hang = sim.faults.hang("hanging")
    bucket = env["seed"].bucket
    request = {
        "ModelName": "model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/in/stop/"}}
        },
        "TransformOutput": {"S3OutputPath": f"s3://{bucket}/out/stop"},
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
    }
    sm.create_transform_job(TransformJobName="hanging", **request)
    with pytest.raises(ClientError, match="ResourceInUse"):
        sm.create_transform_job(TransformJobName="hanging", **request)
    sm.stop_transform_job(TransformJobName="hanging")
    described, seen = wait_for(
        lambda: sm.describe_transform_job(TransformJobName="hanging"),
        lambda d: d["TransformJobStatus"] in TERMINAL,
    )
    assert (seen[0]["TransformJobStatus"], described["TransformJobStatus"]) == ("Stopping", "Stopped")
    with pytest.raises(ClientError, match="ValidationException"):
        sm.stop_transform_job(TransformJobName="hanging")
    sim.faults.remove(hang)

    sim.faults.fail("failing", "ClientError: injected")
    described, _ = transform(env, "failing", "in/stop/", "out/failing")
    assert (described["TransformJobStatus"], described["FailureReason"]) == (
        "Failed",
        "ClientError: injected",
    )

    with pytest.raises(ClientError) as missing:
        sm.create_transform_job(TransformJobName="no-model", **{**request, "ModelName": "nope"})
    assert missing.value.response["Error"]["Code"] == "ValidationException"
    assert missing.value.response["Error"]["Message"] == (
        f'Could not find model "arn:aws:sagemaker:{REGION}:{env["seed"].account}:model/nope".'
    )
    with pytest.raises(ClientError, match="ValidationException"):
        sm.describe_transform_job(TransformJobName="no-model")
    recordio = {**request["TransformInput"], "SplitType": "RecordIO"}
    with pytest.raises(ClientError, match="not supported by the SageMaker simulator"):
        sm.create_transform_job(TransformJobName="recordio", **{**request, "TransformInput": recordio})
