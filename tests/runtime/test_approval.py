"""Human approval of a promotion on the real runtime: ``approve_promotion`` parks in Airflow 3.3's
``awaiting_input`` state, shows the champion and challenger metrics, and is answered through the REST
API as the UI's buttons do. Approve → the new model goes live; Reject → the champion keeps serving and
the run still succeeds."""

from __future__ import annotations

import json

import pytest

from devtools.airflow_runs import DAG_ID
from tests.helpers import aws
from tests.runtime.runtime_helpers import wait_awaiting_input

pytestmark = pytest.mark.runtime

ENDPOINT = "sagemaker-xgboost-mnist"
PROMOTION = ("promote_endpoint", "smoke_test_endpoint", "record_champion")


def live_model(sandbox) -> str:
    sm = aws(sandbox, "sagemaker")
    config = sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    model = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["ModelName"]
    return sm.describe_model(ModelName=model)["PrimaryContainer"]["ModelDataUrl"]


def champion(sandbox) -> dict:
    hd = sandbox.kube.get("sagemaker.aws.amazon.com/v1", "hostingdeployments", ENDPOINT, namespace="default")
    return json.loads(hd["metadata"]["annotations"]["sagemaker-k8s.airflow/champion"])


def ask(runtime, prefix: str) -> tuple[str, dict]:
    """Trigger a run that wants approval; return its id and what the person is asked, once parked."""
    api = runtime.api
    conf = {
        "require_approval": True,
        "force_promote": True,
        "s3_prefix": prefix,
        "hyperparameters": {"num_round": 6},
    }
    run_id = api.trigger(DAG_ID, conf)["dag_run_id"]
    wait_awaiting_input(runtime, run_id, "approve_promotion")
    return run_id, api.hitl_detail(DAG_ID, run_id, "approve_promotion")


def assert_shows_both_models(detail: dict, before: dict) -> None:
    assert detail["options"] == ["Approve", "Reject"] and detail["defaults"] == ["Reject"]
    assert detail["subject"].startswith("Promote ") and ENDPOINT in detail["subject"]
    body = detail["body"]
    assert "validation:merror" in body and before["training_job"] in body and "force_promote" in body


def test_approved_promotion_goes_live(runtime, scheduled_run):
    api, sandbox = runtime.api, runtime.sandbox
    before = champion(sandbox)
    run_id, detail = ask(runtime, "approved-by-rest")
    assert_shows_both_models(detail, before)
    assert live_model(sandbox) == before["model_uri"]  # nothing changes while the person decides
    answered = api.respond(DAG_ID, run_id, "approve_promotion", ["Approve"])
    assert answered["chosen_options"] == ["Approve"]
    run = api.wait_run(DAG_ID, run_id, timeout=600)
    states = {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run_id).items()}
    assert run["state"] == "success", states
    assert all(states[t] == "success" for t in PROMOTION), states
    model = api.xcom(DAG_ID, run_id, "wait_training")["model_path"]
    assert live_model(sandbox) == model and champion(sandbox)["run_id"] == run_id
    assert api.xcom(DAG_ID, run_id, "approve_promotion")["approved"] is True


def test_rejected_promotion_keeps_the_champion_and_succeeds(runtime, scheduled_run):
    api, sandbox = runtime.api, runtime.sandbox
    before = champion(sandbox)
    run_id, detail = ask(runtime, "rejected-by-rest")
    assert_shows_both_models(detail, before)
    api.respond(DAG_ID, run_id, "approve_promotion", ["Reject"])
    run = api.wait_run(DAG_ID, run_id, timeout=600)
    states = {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run_id).items()}
    assert run["state"] == "success", states
    assert states["approve_promotion"] == "success"
    assert all(states[t] == "skipped" for t in PROMOTION), states
    assert live_model(sandbox) == before["model_uri"] and champion(sandbox) == before
    log = api.task_log(DAG_ID, run_id, "approve_promotion")
    assert "promotion rejected by" in log and "the champion keeps serving" in log
