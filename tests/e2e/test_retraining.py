"""The retraining loop end to end: a sequence of DAG runs on one sandbox and one Airflow database.

Each step is one ``airflow dags test`` run, as a weekly schedule would make them, and each depends on
the ones before (they run in file order): the first model creates the endpoint, a worse one is not
promoted, a better one replaces it in place, a forced bad one is rolled back after its smoke test,
an update SageMaker rolls back leaves the champion serving, and an endpoint created outside the
pipeline is refused. After every step the pipeline has exactly one endpoint and one HostingDeployment.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

from devtools.airflow_runs import DAG_ID, airflow_settings, dags_test, latest_run, migrate
from tests.e2e.e2e_helpers import aws, custom_objects
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

ENDPOINT = "sagemaker-xgboost-mnist"
CHAMPION = "sagemaker-k8s.airflow/champion"
PREVIOUS = "sagemaker-k8s.airflow/previous-champion"
CANDIDATE = "sagemaker-k8s.airflow/candidate"
STATE: dict = {}  # what earlier steps saw, for the later ones


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """One sandbox and one migrated Airflow database for the whole sequence."""
    from sandbox.stack import Sandbox

    migrate({**os.environ, **airflow_settings(__import__("pathlib").Path(os.environ["AIRFLOW_HOME"]))})
    with Sandbox(tmp_path_factory.mktemp("loop") / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


def run(sandbox, conf: dict, tmp_path, name: str):
    result = dags_test({**os.environ, **sandbox.env()}, conf=conf, log_path=tmp_path / f"{name}.log")
    return result, latest_run()


def text(result) -> str:
    return " ".join((result.stdout + "\n" + result.stderr).split())


def live(sandbox, endpoint: str = ENDPOINT) -> tuple[str, str]:
    """(endpoint config, model data URL) that SageMaker serves now."""
    sm = aws(sandbox, "sagemaker")
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService", described
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return described["EndpointConfigName"], model["PrimaryContainer"]["ModelDataUrl"]


def serving(sandbox) -> dict:
    """The pipeline's one HostingDeployment (and its one endpoint), asserted after every step."""
    deployments = custom_objects(sandbox, "hostingdeployments")
    assert [d["metadata"]["name"] for d in deployments] == [ENDPOINT]
    endpoints = [e["EndpointName"] for e in aws(sandbox, "sagemaker").list_endpoints()["Endpoints"]]
    assert [e for e in endpoints if e != "outside-endpoint"] == [ENDPOINT]
    return deployments[0]


def record(hd: dict, key: str = CHAMPION) -> dict | None:
    value = (hd["metadata"].get("annotations") or {}).get(key)
    return json.loads(value) if value else None


def asset_events(name: str, run_id: str) -> list[dict]:
    """The extras of the events of Asset ``name`` that the DAG run ``run_id`` emitted (the database is
    shared with the other end-to-end tests, whose runs emit events too)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == name, AssetEvent.source_run_id == run_id)
        ).all()
        return [dict(row.extra or {}) for row in rows]


def test_first_run_creates_the_endpoint_and_records_the_champion(loop, tmp_path):
    result, first = run(loop, {"hyperparameters": {"num_round": 3}}, tmp_path, "first")
    assert first.state == "success", result.stdout[-4000:]
    assert first.task_states["keep_champion"] == "skipped"
    assert first.task_states["promote_endpoint"] == first.task_states["record_champion"] == "success"
    assert "no champion serves endpoint sagemaker-xgboost-mnist yet" in text(result)
    hd = serving(loop)
    model = first.xcoms["wait_training"]["model_path"]
    assert live(loop)[1] == model
    champion = record(hd)
    assert (champion["model_uri"], champion["run_id"]) == (model, first.run_id)
    assert champion["accuracy"] == first.xcoms["smoke_test_endpoint"]["accuracy"]
    STATE.update(first=first, config=live(loop)[0])

    (dataset,) = asset_events(f"{DAG_ID}.dataset", first.run_id)
    assert dataset["uri"] == f"s3://{loop.info.bucket}/xgboost-mnist/" and dataset["run_id"] == first.run_id
    for what in ("model", "endpoint"):
        (event,) = asset_events(f"{DAG_ID}.{what}", first.run_id)
        assert (event["model_uri"], event["endpoint_name"], event["run_id"]) == (
            model,
            ENDPOINT,
            first.run_id,
        )
        assert (
            event["metric_name"] == "validation:merror" and event["metric_value"] == champion["metric_value"]
        )
        assert event["training_job"] == first.xcoms["wait_training"]["job_name"]


def test_a_worse_model_is_not_promoted_and_the_run_succeeds(loop, tmp_path):
    result, worse = run(loop, {"hyperparameters": {"num_round": 1}}, tmp_path, "worse")
    assert worse.state == "success", result.stdout[-4000:]
    assert worse.task_states["keep_champion"] == "success"
    for task in ("approve_promotion", "promote_endpoint", "smoke_test_endpoint", "record_champion"):
        assert worse.task_states[task] == "skipped", task
    reason = worse.xcoms["keep_champion"]["reason"]
    assert "worse by" in reason and "the champion keeps serving" in reason
    flat = text(result)
    assert (
        "gate on validation:merror (minimize)" in flat
        and "rule: promote if validation:merror is lower" in flat
    )
    hd = serving(loop)
    assert live(loop) == (STATE["config"], STATE["first"].xcoms["wait_training"]["model_path"])
    assert record(hd)["run_id"] == STATE["first"].run_id
    assert asset_events(f"{DAG_ID}.model", worse.run_id) == []  # no new model is live
    assert len(asset_events(f"{DAG_ID}.dataset", worse.run_id)) == 1
    STATE["worse"] = worse


def test_a_better_model_is_promoted_in_place(loop, tmp_path):
    result, better = run(loop, {"keep_training_jobs": 1}, tmp_path, "better")  # num_round 10
    assert better.state == "success", result.stdout[-4000:]
    assert better.task_states["promote_endpoint"] == "success"
    hd = serving(loop)
    model = better.xcoms["wait_training"]["model_path"]
    config, served = live(loop)
    assert served == model and config != STATE["config"]
    assert hd["spec"]["endpointName"] == ENDPOINT
    assert better.xcoms["promote_endpoint"]["endpoint_config"] == config
    assert (
        better.xcoms["smoke_test_endpoint"]["accuracy"]
        >= STATE["first"].xcoms["smoke_test_endpoint"]["accuracy"]
    )
    assert (record(hd)["run_id"], record(hd, PREVIOUS)["run_id"]) == (better.run_id, STATE["first"].run_id)
    assert record(hd, CANDIDATE) is None
    # The old generation's children are gone, on the cluster and in SageMaker.
    for plural in ("models", "endpointconfigs"):
        wait_for(lambda p=plural: len(custom_objects(loop, p)) == 1, timeout=60, what=f"one {plural} left")
    configs = aws(loop, "sagemaker").list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == [config]
    # Retention (keep 1): the worse run's CR goes; the champion's and the previous champion's stay.
    names = {j["metadata"]["name"] for j in custom_objects(loop, "trainingjobs")}
    assert names == {STATE["first"].xcoms["submit_training"]["name"], better.xcoms["submit_training"]["name"]}
    assert better.xcoms["retain_training_jobs"]["deleted"] == [
        STATE["worse"].xcoms["submit_training"]["name"]
    ]
    worse_model = STATE["worse"].xcoms["wait_training"]["model_path"]
    bucket, _, key = worse_model.removeprefix("s3://").partition("/")
    assert aws(loop, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0  # S3 artifacts kept
    STATE.update(better=better, config=config)


def test_a_forced_bad_model_fails_its_smoke_test_and_is_rolled_back(loop, tmp_path):
    conf = {"force_promote": True, "hyperparameters": {"num_round": 1, "max_depth": 1}, "min_accuracy": 0.85}
    result, bad = run(loop, conf, tmp_path, "bad")
    assert bad.state == "failed"
    states = bad.task_states
    assert (states["promote_endpoint"], states["smoke_test_endpoint"]) == ("success", "failed"), states
    assert (states["record_champion"], states["rollback_endpoint"]) == ("upstream_failed", "failed")
    flat = text(result)
    assert "< min_accuracy 0.85" in flat and "rolled back to the champion" in flat, flat[-4000:]
    assert "whose live accuracy is" in flat
    hd = serving(loop)
    assert live(loop)[1] == STATE["better"].xcoms["wait_training"]["model_path"]
    assert record(hd)["run_id"] == STATE["better"].run_id and record(hd, CANDIDATE) is None
    STATE["config"] = live(loop)[0]


def test_an_update_sagemaker_rolls_back_leaves_the_champion_serving(loop, tmp_path):
    reason = "ping health check failed (injected update failure)"
    loop.arm_fault(f"update-fail:{reason}", kind="HostingDeployment")

    champion_model = STATE["better"].xcoms["wait_training"]["model_path"]

    def clear_once_rolling_back() -> None:
        """The real controller retries a rolled-back update every pass until the spec changes: keep it
        failing until the pipeline has given up on the promotion and put the champion back on the CR,
        then let SageMaker behave so that the rollback's own update goes through."""
        wait_for(
            lambda: (
                custom_objects(loop, "hostingdeployments")[0]["spec"]["models"][0]["containers"][0][
                    "modelDataUrl"
                ]
                == champion_model
                and reason
                in (custom_objects(loop, "hostingdeployments")[0].get("status") or {}).get(
                    "failureReason", ""
                )
            ),
            timeout=300,
            what="the rollback to start",
        )
        loop.clear_faults()

    clearer = threading.Thread(target=clear_once_rolling_back, daemon=True)
    clearer.start()
    result, failed = run(
        loop, {"force_promote": True, "hyperparameters": {"num_round": 4}}, tmp_path, "update"
    )
    clearer.join(timeout=10)
    assert failed.state == "failed"
    assert failed.task_states["promote_endpoint"] == "failed"
    assert failed.task_states["smoke_test_endpoint"] == "upstream_failed"
    assert failed.task_states["rollback_endpoint"] == "failed"
    flat = text(result)
    assert "SageMaker rolled back" in flat and reason in flat, flat[-4000:]
    hd = serving(loop)
    assert live(loop)[1] == champion_model
    assert hd["spec"]["models"][0]["containers"][0]["modelDataUrl"] == champion_model
    assert record(hd)["run_id"] == STATE["better"].run_id and record(hd, CANDIDATE) is None


def test_an_endpoint_created_outside_the_pipeline_is_refused(loop, tmp_path):
    sm = aws(loop, "sagemaker")
    model_url = STATE["first"].xcoms["wait_training"]["model_path"]
    image = "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"
    sm.create_model(
        ModelName="outside-model",
        ExecutionRoleArn=loop.info.execution_role_arn,
        PrimaryContainer={"Image": image, "ModelDataUrl": model_url},
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "outside-model", "InitialInstanceCount": 1}
    sm.create_endpoint_config(
        EndpointConfigName="outside-config", ProductionVariants=[{**variant, "InstanceType": "ml.m5.large"}]
    )
    sm.create_endpoint(EndpointName="outside-endpoint", EndpointConfigName="outside-config")
    wait_for(
        lambda: sm.describe_endpoint(EndpointName="outside-endpoint")["EndpointStatus"] == "InService",
        timeout=60,
        what="the outside endpoint",
    )
    jobs_before = len(custom_objects(loop, "trainingjobs"))

    result, refused = run(loop, {"endpoint_name": "outside-endpoint"}, tmp_path, "outside")
    assert refused.state == "failed" and refused.task_states["check_iam_oidc"] == "failed"
    flat = text(result)
    assert "aws sagemaker delete-endpoint --endpoint-name outside-endpoint" in flat, flat[-4000:]
    assert len(custom_objects(loop, "trainingjobs")) == jobs_before  # no side effect
    assert live(loop, "outside-endpoint") == ("outside-config", model_url)
    serving(loop)
