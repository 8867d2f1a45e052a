"""sandbox.aws.sagemaker_sim against the real moto HTTP server: jobs that really train, endpoints that really
serve, StopTrainingJob, faults, and SageMaker's errors."""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
import warnings

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from sandbox.aws import seed_account

from .conftest import REGION, client, sim_threads, to_csv, wait_for

WALKTHROUGH_HP = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "silent": "0",
    "objective": "multi:softmax",
    "num_class": "10",
    "num_round": "10",
}
SMALL_HP = {**WALKTHROUGH_HP, "num_round": "3", "max_depth": "2"}
WALKTHROUGH_JOB = "xgboost-mnist-walkthrough"
TERMINAL = ("Completed", "Failed", "Stopped")
PHASES = ["Starting", "Downloading", "Training", "Uploading", "Completed"]


@pytest.fixture(scope="module")
def env(moto, mnist):
    seed = seed_account(moto.url, region=REGION)
    s3 = client(moto.url, "s3")
    for split in ("train", "validation", "test"):
        X, y = mnist[split]
        body = to_csv(X) if split == "test" else to_csv(X, y)
        s3.put_object(Bucket=seed.bucket, Key=f"xgboost/{split}/examples", Body=body)
    for split, rows in (("train", slice(0, 400)), ("validation", slice(0, 100))):
        X, y = mnist[split]
        s3.put_object(Bucket=seed.bucket, Key=f"small/{split}/examples", Body=to_csv(X[rows], y[rows]))
    moto.simulator.phase_delay = 0.1  # quicker small jobs; the walkthrough job keeps the default 0.2
    moto.simulator.faults.slow(WALKTHROUGH_JOB, 0.2)
    yield {
        "moto": moto,
        "seed": seed,
        "sim": moto.simulator,
        "s3": s3,
        "sm": client(moto.url, "sagemaker"),
        "rt": client(moto.url, "sagemaker-runtime"),
    }
    moto.simulator.phase_delay = 0.2


@pytest.fixture(autouse=True)
def isolate(request):
    """After each test: no faults left (but the walkthrough's), no job left running, no worker thread left."""
    yield
    if "env" not in request.fixturenames:
        return
    env = request.getfixturevalue("env")
    for fault in env["sim"].faults.list():
        if fault.pattern != WALKTHROUGH_JOB:
            env["sim"].faults.remove(fault)
    sm = env["sm"]
    for summary in sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]:
        with contextlib.suppress(ClientError):
            sm.stop_training_job(TrainingJobName=summary["TrainingJobName"])
    assert env["sim"].wait_idle(timeout=20), env["sim"].running()
    assert sim_threads() == []


def job_request(env, name: str, *, prefix: str = "small", hp: dict | None = None, **overrides) -> dict:
    bucket = env["seed"].bucket
    request = {
        "TrainingJobName": name,
        "HyperParameters": dict(hp or SMALL_HP),
        "AlgorithmSpecification": {
            "TrainingImage": "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": env["seed"].execution_role_arn,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/{prefix}/{channel}/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
                "CompressionType": "None",
            }
            for channel in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }
    request.update(overrides)
    return request


def status(env, name: str) -> tuple[str, str]:
    d = env["sm"].describe_training_job(TrainingJobName=name)
    return d["TrainingJobStatus"], d["SecondaryStatus"]


def wait_job(env, name: str, timeout: float = 30.0):
    return wait_for(lambda: status(env, name), lambda s: s[0] in TERMINAL, timeout)


def in_order(seen: list[str], expected: list[str]) -> bool:
    it = iter(seen)
    return all(phase in it for phase in expected)


# -- the walkthrough job: real training ------------------------------------------------------------
@pytest.fixture(scope="module")
def walkthrough(env):
    """The walkthrough's job on the bundled digits, observed through describe at every poll."""
    sm, name = env["sm"], WALKTHROUGH_JOB
    sm.create_training_job(**job_request(env, name, prefix="xgboost", hp=WALKTHROUGH_HP))
    observed = []  # (status, secondary, has ModelArtifacts)

    def fetch():
        d = sm.describe_training_job(TrainingJobName=name)
        return d["TrainingJobStatus"], d["SecondaryStatus"], "ModelArtifacts" in d

    _, observed = wait_for(fetch, lambda s: s[0] in TERMINAL, timeout=60, interval=0.01)
    return {"name": name, "observed": observed, "describe": sm.describe_training_job(TrainingJobName=name)}


def test_training_job_walks_the_phases(walkthrough):
    observed = walkthrough["observed"]
    secondaries = [secondary for _, secondary, _ in observed]
    assert in_order(secondaries, PHASES), observed
    assert observed[0][:2] == ("InProgress", "Starting")
    for job_status, secondary, has_artifacts in observed:
        assert job_status == ("Completed" if secondary == "Completed" else "InProgress")
        assert has_artifacts == (job_status == "Completed")  # ModelArtifacts only once Completed
    transitions = [t["Status"] for t in walkthrough["describe"]["SecondaryStatusTransitions"]]
    assert transitions == PHASES


def test_training_job_completes_with_real_metrics_and_times(walkthrough, env):
    d = walkthrough["describe"]
    assert d["TrainingJobStatus"] == "Completed" and "FailureReason" not in d
    metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
    assert set(metrics) >= {"train:merror", "validation:merror"}
    assert metrics["validation:merror"] < 0.2
    assert 0 <= metrics["train:merror"] <= metrics["validation:merror"]
    assert d["CreationTime"] <= d["TrainingStartTime"] < d["TrainingEndTime"] <= d["LastModifiedTime"]
    assert d["TrainingTimeInSeconds"] >= 1
    summaries = env["sm"].list_training_jobs(NameContains=walkthrough["name"])["TrainingJobSummaries"]
    assert [(s["TrainingJobStatus"], s["SecondaryStatus"]) for s in summaries] == [("Completed", "Completed")]
    assert summaries[0]["TrainingEndTime"] == d["TrainingEndTime"]


def test_model_artifact_is_a_loadable_xgboost_model(walkthrough, env, mnist, tmp_path):
    uri = walkthrough["describe"]["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"s3://{env['seed'].bucket}/xgboost/{walkthrough['name']}/output/model.tar.gz"
    bucket, key = uri[5:].split("/", 1)
    archive = env["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
        (tmp_path / "xgboost-model").write_bytes(tar.extractfile("xgboost-model").read())
    booster = xgb.Booster()
    with warnings.catch_warnings():  # no file extension: xgboost says it guesses JSON, which is right
        warnings.simplefilter("ignore", UserWarning)
        booster.load_model(str(tmp_path / "xgboost-model"))
    X, y = mnist["test"]
    accuracy = float(np.mean(booster.predict(xgb.DMatrix(X.astype(np.float32))) == y))
    assert accuracy >= 0.8


# -- hosting --------------------------------------------------------------------------------------------
def create_endpoint(env, name: str, model_data_url: str, *, hostname: str = "xgboost") -> None:
    sm = env["sm"]
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=env["seed"].execution_role_arn,
        PrimaryContainer={
            "ContainerHostname": hostname,
            "Image": "825641698319.dkr.ecr.us-east-2.amazonaws.com/xgboost:latest",
            "ModelDataUrl": model_data_url,
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.r5.large",
                "InitialVariantWeight": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def endpoint_status(env, name: str) -> tuple[str, str]:
    d = env["sm"].describe_endpoint(EndpointName=name)
    return d["EndpointStatus"], d.get("FailureReason", "")


def wait_endpoint(env, name: str):
    return wait_for(lambda: endpoint_status(env, name), lambda s: s[0] in ("InService", "Failed"), 30)


def test_endpoint_serves_real_predictions(walkthrough, env, mnist):
    rt, sm, name = env["rt"], env["sm"], "xgboost-mnist-endpoint"
    env["sim"].faults.slow(name, 1.0, phase="Creating")  # room to look at it while Creating
    create_endpoint(env, name, walkthrough["describe"]["ModelArtifacts"]["S3ModelArtifacts"])
    X, y = mnist["test"]
    assert endpoint_status(env, name)[0] == "Creating"
    with pytest.raises(ClientError) as early:
        rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=to_csv(X[:2]))
    assert early.value.response["Error"]["Code"] == "ValidationError"
    assert early.value.response["Error"]["Message"] == f"Endpoint {name} of account 123456789012 not found."
    (final, _), seen = wait_endpoint(env, name)
    assert final == "InService" and seen[0][0] == "Creating"

    response = rt.invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Accept="text/csv", Body=to_csv(X)
    )
    assert response["ContentType"] == "text/csv"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    lines = response["Body"].read().decode().splitlines()
    assert len(lines) == len(X)
    assert all(line.endswith(".0") for line in lines)  # the class as a float string, e.g. "7.0"
    assert float(np.mean(np.array([float(v) for v in lines]) == y)) >= 0.8

    with pytest.raises(ClientError) as bad:  # rows with the label still in: 785 columns
        rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=to_csv(X[:2], y[:2]))
    assert bad.value.response["Error"]["Code"] == "ModelError"
    assert bad.value.response["OriginalStatusCode"] == 400

    sm.delete_endpoint(EndpointName=name)
    with pytest.raises(ClientError) as gone:
        rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=to_csv(X[:2]))
    assert gone.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError):
        sm.describe_endpoint(EndpointName=name)
    assert (REGION, name) not in {(k[1], k[2]) for k in env["sim"].predictors}


def test_endpoint_with_missing_model_data_fails(env):
    name = "ep-missing-model"
    url = f"s3://{env['seed'].bucket}/nothing/here/model.tar.gz"
    create_endpoint(env, name, url)
    (final, reason), _ = wait_endpoint(env, name)
    assert final == "Failed"
    assert reason.startswith('Failed to download model data for container "xgboost" from URL')
    assert url in reason


def test_endpoint_with_corrupt_model_data_fails(env):
    name = "ep-corrupt-model"
    env["s3"].put_object(Bucket=env["seed"].bucket, Key="corrupt/model.tar.gz", Body=b"not a tarball")
    create_endpoint(env, name, f"s3://{env['seed'].bucket}/corrupt/model.tar.gz")
    (final, reason), _ = wait_endpoint(env, name)
    assert final == "Failed"
    assert reason.startswith("Failed to extract model data archive")


def test_endpoint_fail_fault(walkthrough, env):
    env["sim"].faults.add("ep-faulty-*", "endpoint_fail", reason="capacity error: no ml.r5.large left")
    create_endpoint(env, "ep-faulty-1", walkthrough["describe"]["ModelArtifacts"]["S3ModelArtifacts"])
    (final, reason), seen = wait_endpoint(env, "ep-faulty-1")
    assert (final, reason) == ("Failed", "capacity error: no ml.r5.large left")
    assert seen[0][0] == "Creating"


def test_update_endpoint_rolls_back_on_failure_then_updates(walkthrough, env, mnist):
    sm, name = env["sm"], "ep-update"
    good = walkthrough["describe"]["ModelArtifacts"]["S3ModelArtifacts"]
    create_endpoint(env, name, good)
    assert wait_endpoint(env, name)[0][0] == "InService"
    sm.create_model(
        ModelName="ep-update-broken",
        ExecutionRoleArn=env["seed"].execution_role_arn,
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": f"s3://{env['seed'].bucket}/missing.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="ep-update-broken",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "ep-update-broken", "InstanceType": "ml.r5.large"}
        ],
    )
    env["sim"].faults.slow(name, 0.5, phase="Updating")
    sm.update_endpoint(EndpointName=name, EndpointConfigName="ep-update-broken")
    with pytest.raises(ClientError) as busy:
        sm.update_endpoint(EndpointName=name, EndpointConfigName="ep-update-config")
    assert "Cannot update in-progress endpoint" in busy.value.response["Error"]["Message"]
    (_, reason), seen = wait_for(
        lambda: endpoint_status(env, name), lambda s: s[0] == "InService" and s[1], timeout=30
    )
    assert seen[0][0] == "Updating" and "Failed to download model data" in reason
    assert sm.describe_endpoint(EndpointName=name)["EndpointConfigName"] == "ep-update-config"  # rolled back
    x = mnist["test"][0][:3]
    assert len(
        env["rt"].invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=to_csv(x))["Body"].read()
    )

    sm.create_endpoint_config(
        EndpointConfigName="ep-update-v2",
        ProductionVariants=[
            {"VariantName": "Blue", "ModelName": "ep-update-model", "InstanceType": "ml.r5.large"}
        ],
    )
    sm.update_endpoint(EndpointName=name, EndpointConfigName="ep-update-v2")
    (_, reason), seen = wait_for(
        lambda: endpoint_status(env, name), lambda s: s[0] == "InService", timeout=30
    )
    assert seen[0][0] == "Updating" and reason == ""
    d = sm.describe_endpoint(EndpointName=name)
    assert d["EndpointConfigName"] == "ep-update-v2" and d["ProductionVariants"][0]["VariantName"] == "Blue"
    out = env["rt"].invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=to_csv(x))
    assert out["InvokedProductionVariant"] == "Blue"


def test_update_fail_fault_fails_every_update_until_removed_and_the_old_model_keeps_serving(
    walkthrough, env, mnist
):
    sm, rt, name = env["sm"], env["rt"], "ep-update-fail"
    fault = env["sim"].faults.update_fail("ep-update-fail*", "no capacity for the update")
    create_endpoint(env, name, walkthrough["describe"]["ModelArtifacts"]["S3ModelArtifacts"])
    assert wait_endpoint(env, name)[0] == ("InService", "")  # CreateEndpoint is not affected

    sm.create_training_job(**job_request(env, "ep-update-fail-job", hp=SMALL_HP))
    assert wait_job(env, "ep-update-fail-job")[0][0] == "Completed"
    url = sm.describe_training_job(TrainingJobName="ep-update-fail-job")["ModelArtifacts"]["S3ModelArtifacts"]
    create_endpoint(env, "ep-update-fail-v2", url)  # its model, config and an endpoint of its own
    assert wait_endpoint(env, "ep-update-fail-v2")[0][0] == "InService"
    body = to_csv(mnist["test"][0][:40])

    def predictions(endpoint: str) -> bytes:
        return rt.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body)["Body"].read()

    old, new = predictions(name), predictions("ep-update-fail-v2")
    assert old != new
    for _ in range(2):  # every update fails while the fault is armed
        before = sm.describe_endpoint(EndpointName=name)["LastModifiedTime"]
        sm.update_endpoint(EndpointName=name, EndpointConfigName="ep-update-fail-v2-config")
        assert endpoint_status(env, name)[0] == "Updating"
        (final, reason), _ = wait_for(lambda: endpoint_status(env, name), lambda s: s[0] != "Updating")
        assert (final, reason) == ("InService", "no capacity for the update")  # rolled back
        d = sm.describe_endpoint(EndpointName=name)
        assert d["EndpointConfigName"] == f"{name}-config" and d["LastModifiedTime"] > before
        assert predictions(name) == old

    env["sim"].faults.remove(fault)
    sm.update_endpoint(EndpointName=name, EndpointConfigName="ep-update-fail-v2-config")
    (final, reason), _ = wait_for(lambda: endpoint_status(env, name), lambda s: s[0] != "Updating")
    assert (final, reason) == ("InService", "")
    assert sm.describe_endpoint(EndpointName=name)["EndpointConfigName"] == "ep-update-fail-v2-config"
    assert predictions(name) == new


# -- StopTrainingJob, duplicates, bad input ----------------------------------------------------------
def test_stop_training_job_aborts_between_rounds(env):
    sm, name = env["sm"], "stop-me"
    sm.create_training_job(**job_request(env, name, hp={**SMALL_HP, "num_round": "1000000"}))
    wait_for(lambda: status(env, name), lambda s: s == ("InProgress", "Training"))
    sm.stop_training_job(TrainingJobName=name)
    assert status(env, name) == ("Stopping", "Stopping")
    started = time.monotonic()
    final, _ = wait_job(env, name, timeout=10)
    assert final == ("Stopped", "Stopped") and time.monotonic() - started < 5
    d = sm.describe_training_job(TrainingJobName=name)
    assert "ModelArtifacts" not in d and "FailureReason" not in d
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    listed = env["s3"].list_objects_v2(Bucket=env["seed"].bucket, Prefix=f"small/{name}/")
    assert listed.get("Contents", []) == []
    with pytest.raises(ClientError) as again:
        sm.stop_training_job(TrainingJobName=name)
    assert again.value.response["Error"]["Code"] == "ValidationException"
    assert "training job is in status Stopped" in again.value.response["Error"]["Message"]


def test_duplicate_training_job_name_is_rejected(env):
    sm, name = env["sm"], "dup-job"
    arn = sm.create_training_job(**job_request(env, name))["TrainingJobArn"]
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**job_request(env, name, hp={**SMALL_HP, "max_depth": "3"}))
    assert e.value.response["Error"]["Code"] == "ResourceInUse"
    assert e.value.response["Error"]["Message"] == (
        "Training job names must be unique within an AWS account and region, and a training job with this "
        f"name already exists ({arn})"
    )
    assert (
        sm.describe_training_job(TrainingJobName=name)["HyperParameters"]["max_depth"] == "2"
    )  # not replaced
    assert wait_job(env, name)[0][0] == "Completed"


def test_invalid_job_name_is_rejected(env):
    with pytest.raises(ClientError) as e:
        env["sm"].create_training_job(**job_request(env, "bad_name.with_underscores"))
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_missing_channel_data_fails_with_client_error(env):
    name = "no-data"
    request = job_request(env, name, prefix="does-not-exist")
    env["sm"].create_training_job(**request)
    (final, seen) = wait_job(env, name)
    assert final == ("Failed", "Failed")
    assert in_order([s for _, s in seen], ["Starting", "Downloading", "Failed"])
    reason = env["sm"].describe_training_job(TrainingJobName=name)["FailureReason"]
    assert reason.startswith("ClientError: Data download failed:No S3 objects found under S3 URL")
    assert f"s3://{env['seed'].bucket}/does-not-exist/train/" in reason


def test_missing_train_channel_fails(env):
    request = job_request(env, "no-train-channel")
    request["InputDataConfig"] = request["InputDataConfig"][1:]
    env["sm"].create_training_job(**request)
    assert wait_job(env, "no-train-channel")[0] == ("Failed", "Failed")
    reason = env["sm"].describe_training_job(TrainingJobName="no-train-channel")["FailureReason"]
    assert reason.startswith("ClientError: ") and "'train'" in reason


@pytest.mark.parametrize(
    ("hp", "expected"),
    [
        ({"objective": "bogus:objective"}, "Unknown objective function"),
        ({"max_depth": "five"}, "max_depth"),
        ({"eta": "-1"}, "learning_rate"),
        ({"num_round": None}, "num_round"),
    ],
    ids=["objective", "not-an-int", "out-of-range", "no-num_round"],
)
def test_bad_hyperparameters_fail_with_algorithm_error(env, hp, expected):
    params = {**SMALL_HP, **hp, "unknown_knob": "1"}
    params = {k: v for k, v in params.items() if v is not None}
    name = f"bad-hp-{abs(hash(str(hp))) % 10**8}"
    env["sm"].create_training_job(**job_request(env, name, hp=params))
    (final, seen) = wait_job(env, name)
    assert final == ("Failed", "Failed")
    assert "Training" in [s for _, s in seen]
    reason = env["sm"].describe_training_job(TrainingJobName=name)["FailureReason"]
    assert reason.startswith("AlgorithmError: ") and expected in reason


# -- faults ----------------------------------------------------------------------------------------------
def test_fail_fault_after_n_phases(env):
    env["sim"].faults.add("fault-fail-*", "fail", reason="AlgorithmError: injected", after_phases=1)
    env["sm"].create_training_job(**job_request(env, "fault-fail-1"))
    (final, seen) = wait_job(env, "fault-fail-1")
    assert final == ("Failed", "Failed")
    assert [s for _, s in seen][-3:] == ["Starting", "Downloading", "Failed"]
    d = env["sm"].describe_training_job(TrainingJobName="fault-fail-1")
    assert d["FailureReason"] == "AlgorithmError: injected" and "ModelArtifacts" not in d


def test_hang_fault_holds_until_cleared(env):
    sim, sm = env["sim"], env["sm"]
    fault = sim.faults.hang("fault-hang")
    sm.create_training_job(**job_request(env, "fault-hang"))
    wait_for(lambda: status(env, "fault-hang"), lambda s: s == ("InProgress", "Training"))
    time.sleep(4 * sim.phase_delay)  # deliberately idle: it must not move on by itself
    assert status(env, "fault-hang") == ("InProgress", "Training")
    summary = sm.list_training_jobs(NameContains="fault-hang")["TrainingJobSummaries"][0]
    assert (summary["TrainingJobStatus"], summary["SecondaryStatus"]) == ("InProgress", "Training")
    sim.faults.remove(fault)
    assert wait_job(env, "fault-hang")[0] == ("Completed", "Completed")


def test_hang_fault_then_stop(env):
    env["sim"].faults.hang("fault-hang-stop")
    env["sm"].create_training_job(**job_request(env, "fault-hang-stop"))
    wait_for(lambda: status(env, "fault-hang-stop"), lambda s: s == ("InProgress", "Training"))
    env["sm"].stop_training_job(TrainingJobName="fault-hang-stop")
    final, _ = wait_job(env, "fault-hang-stop")
    assert final == ("Stopped", "Stopped")


def test_stop_fault(env):
    env["sim"].faults.add("fault-stop", "stop", after_phases=1)
    env["sm"].create_training_job(**job_request(env, "fault-stop"))
    (final, seen) = wait_job(env, "fault-stop")
    assert final == ("Stopped", "Stopped")
    assert in_order([s for _, s in seen], ["Downloading", "Stopping", "Stopped"])
    assert "Training" not in [s for _, s in seen]


def test_max_runtime_exceeded_stops_the_job(env):
    env["sim"].faults.hang("too-long")
    request = job_request(env, "too-long", StoppingCondition={"MaxRuntimeInSeconds": 1})
    env["sm"].create_training_job(**request)
    (final, _) = wait_job(env, "too-long", timeout=10)
    assert final == ("Stopped", "MaxRuntimeExceeded")


def test_slow_fault_stretches_one_phase(env):
    env["sim"].faults.slow("slow-job", 1.0, phase="Downloading")
    env["sm"].create_training_job(**job_request(env, "slow-job"))
    assert wait_job(env, "slow-job")[0] == ("Completed", "Completed")
    transitions = env["sm"].describe_training_job(TrainingJobName="slow-job")["SecondaryStatusTransitions"]
    durations = {t["Status"]: (t["EndTime"] - t["StartTime"]).total_seconds() for t in transitions}
    assert durations["Downloading"] >= 1.0 - 0.01
    assert durations["Starting"] < 1.0


def test_at_most_two_jobs_run_at_once(env):
    sim, names = env["sim"], ["queue-a", "queue-b", "queue-c"]
    fault = sim.faults.hang("queue-*")
    for name in names[:2]:
        env["sm"].create_training_job(**job_request(env, name))
    for name in names[:2]:
        wait_for(lambda n=name: status(env, n), lambda s: s == ("InProgress", "Training"))
    env["sm"].create_training_job(**job_request(env, names[2]))
    time.sleep(4 * sim.phase_delay)  # deliberately idle: the third job must wait for a slot
    assert status(env, names[2]) == ("InProgress", "Starting")
    sim.faults.remove(fault)
    for name in names:
        assert wait_job(env, name)[0] == ("Completed", "Completed")


def test_shutdown_cancels_workers(env):
    sim = env["sim"]
    sim.faults.hang("shutdown-*")
    env["sm"].create_training_job(**job_request(env, "shutdown-1"))
    wait_for(lambda: status(env, "shutdown-1"), lambda s: s == ("InProgress", "Training"))
    sim.shutdown()
    assert sim_threads() == []
    d = env["sm"].describe_training_job(TrainingJobName="shutdown-1")
    assert d["TrainingJobStatus"] == "Failed" and d["FailureReason"].startswith("InternalServerError")
    env["sim"].faults.clear("shutdown-*")
    env["sm"].create_training_job(**job_request(env, "after-shutdown"))  # still usable
    assert wait_job(env, "after-shutdown")[0] == ("Completed", "Completed")
