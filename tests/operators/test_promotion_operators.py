"""The retraining loop's operators on fake hooks: branch choice, defer arguments, every
``execute_complete`` outcome, ownership refusals and the records written (no servers)."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException, TaskDeferred

from sagemaker_k8s.assets import pipeline_asset
from sagemaker_k8s.manifests.waiting import FAILED, SUCCESS
from sagemaker_k8s.operators.gate import SageMakerK8sKeepChampionOperator, SageMakerK8sPromotionGateOperator
from sagemaker_k8s.operators.promote import SageMakerK8sPromoteOperator, SageMakerK8sRecordChampionOperator
from sagemaker_k8s.operators.retention import SageMakerK8sRetentionOperator
from sagemaker_k8s.operators.rollback import SageMakerK8sRollbackOperator
from sagemaker_k8s.promotion.record import CANDIDATE, CHAMPION, PREVIOUS_CHAMPION, ModelRecord, read
from sagemaker_k8s.promotion.rollout import LiveEndpoint
from sagemaker_k8s.triggers.rollout import SageMakerK8sRolloutTrigger
from tests.operators.fakes import DAG_ID, RUN_ID, FakeAws, FakeKube, FakeTI, config, context, wire

M = "validation:merror"
OLD = "s3://bucket/xgboost-mnist/output/job-old/output/model.tar.gz"
NEW = "s3://bucket/xgboost-mnist/output/job-new/output/model.tar.gz"
ENDPOINT = "sagemaker-xgboost-mnist"
TRAINING = {
    "name": "cr-new",
    "namespace": "default",
    "job_name": "job-new",
    "model_path": NEW,
    "metrics": {M: 0.1},
}
CHAMP = ModelRecord("job-old", "cr-old", OLD, M, 0.2, "run-old", "2026-12-01T00:00:00+00:00", 0.85)


def serving_cr(annotations: dict | None = None, model: str = OLD, dag: str = DAG_ID) -> dict:
    op = SageMakerK8sPromoteOperator(task_id="promote_endpoint", config=config(), gate_task_id="gate")
    body = op.build(DAG_ID, model, {"airflow.apache.org/dag-id": dag, **(annotations or {})})
    body["status"] = {"endpointStatus": "InService", "endpointConfigName": "cfg-1"}
    return body


def kube_with(*objects: tuple[str, dict]) -> FakeKube:
    kube = FakeKube()
    for plural, obj in objects:
        kube.put(plural, obj)
    return kube


# -- the gate ----------------------------------------------------------------------------------------
def run_gate(kube, aws, xcoms=None, **params):
    op = wire(
        SageMakerK8sPromotionGateOperator(
            task_id="evaluate_challenger", config=config(**params),
            promote_task_id="approve_promotion", keep_task_id="keep_champion",
        ),
        kube, aws,
    )  # fmt: skip
    op.do_branch = lambda context, branch: branch  # the real one skips through the task runner
    ti = FakeTI({("wait_training", "return_value"): TRAINING} if xcoms is None else xcoms)
    return op.execute(context(ti)), ti.xcoms[("self", "decision")]


TUNED = {**TRAINING, "name": "job-best", "job_name": "job-best", "tuning": {"job_name": "hpo-1"}}


def test_gate_takes_the_challenger_from_the_tuning_wait_when_training_was_skipped():
    _, decision = run_gate(FakeKube(), FakeAws(), {("wait_tuning", "return_value"): TUNED})
    assert decision["challenger"]["training_job"] == "job-best"
    assert decision["challenger"]["tuning_job"] == "hpo-1"


def test_gate_fails_clearly_without_a_trained_model():
    with pytest.raises(AirflowFailException, match="no trained model in this run"):
        run_gate(FakeKube(), FakeAws(), {})


def test_gate_refuses_a_result_without_a_model_in_s3():
    bad = {**TRAINING, "model_path": None}
    with pytest.raises(AirflowFailException, match="reported no model in S3"):
        run_gate(FakeKube(), FakeAws(), {("wait_training", "return_value"): bad})


@pytest.mark.parametrize(
    ("champion_accuracy", "branch"), [(0.85, "approve_promotion"), (0.95, "keep_champion")]
)
def test_gate_on_test_accuracy_compares_batch_scoring_results(champion_accuracy, branch):
    champ = ModelRecord(**{**CHAMP.__dict__, "test_accuracy": champion_accuracy})
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: champ.to_json()})))
    xcoms = {("wait_training", "return_value"): TRAINING, ("batch_score", "return_value"): {"accuracy": 0.9}}
    chosen, decision = run_gate(
        kube,
        FakeAws(metrics={"job-old": {M: 0.2}}),
        xcoms,
        gate_metric="test:accuracy",
        gate_direction="maximize",
    )
    assert chosen == branch
    assert (decision["challenger_metric"], decision["champion_metric"]) == (0.9, champion_accuracy)
    assert decision["challenger"]["test_accuracy"] == 0.9


def test_gate_on_test_accuracy_says_the_champion_was_never_scored():
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()})))
    xcoms = {("wait_training", "return_value"): TRAINING, ("batch_score", "return_value"): {"accuracy": 0.9}}
    with pytest.raises(
        AirflowFailException, match="champion's training job reported no finite metric 'test:acc"
    ):
        run_gate(kube, FakeAws(metrics={"job-old": {M: 0.2}}), xcoms, gate_metric="test:accuracy",
                 gate_direction="maximize")  # fmt: skip


def test_gate_refuses_a_scoring_result_without_accuracy():
    xcoms = {("wait_training", "return_value"): TRAINING, ("batch_score", "return_value"): {"rows": 3}}
    with pytest.raises(AirflowFailException, match="no accuracy in"):
        run_gate(FakeKube(), FakeAws(), xcoms)


def test_gate_without_champion_promotes():
    branch, decision = run_gate(FakeKube(), FakeAws())
    assert branch == "approve_promotion"
    assert decision["action"] == "promote" and decision["champion"] is None
    assert decision["challenger"]["training_job"] == "job-new" and decision["challenger"]["run_id"] == RUN_ID
    assert (decision["endpoint_name"], decision["cr_name"]) == (ENDPOINT, ENDPOINT)


@pytest.mark.parametrize(("champion_metric", "branch"), [(0.2, "approve_promotion"), (0.05, "keep_champion")])
def test_gate_compares_with_the_champions_metric_from_sagemaker(champion_metric, branch):
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()})))
    # the record says 0.2; SageMaker's FinalMetricDataList of the champion's job is what counts
    chosen, decision = run_gate(kube, FakeAws(metrics={"job-old": {M: champion_metric}}))
    assert chosen == branch
    assert (
        decision["champion_metric"] == champion_metric and decision["champion"]["training_job"] == "job-old"
    )


def test_gate_refuses_to_compare_without_the_metric():
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()})))
    with pytest.raises(AirflowFailException, match="champion's training job reported no finite metric"):
        run_gate(kube, FakeAws(metrics={"job-old": {}}))


def test_gate_fails_on_an_unreadable_champion_record():
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: "{not json"})))
    with pytest.raises(AirflowFailException, match="kubectl annotate hostingdeployment"):
        run_gate(kube, FakeAws())


def test_keep_champion_says_why():
    ti = FakeTI({("gate", "decision"): {"action": "keep", "reason": "worse", "endpoint_name": ENDPOINT}})
    result = SageMakerK8sKeepChampionOperator(task_id="keep_champion", gate_task_id="gate").execute(
        context(ti)
    )
    assert result == {"promoted": False, "reason": "worse", "endpoint_name": ENDPOINT}


# -- promotion ---------------------------------------------------------------------------------------
def decision(champion: ModelRecord | None = CHAMP) -> dict:
    challenger = ModelRecord("job-new", "cr-new", NEW, M, 0.1, RUN_ID)
    return {
        "action": "promote", "reason": "better", "metric_name": M, "challenger_metric": 0.1,
        "champion_metric": 0.2, "endpoint_name": ENDPOINT, "cr_name": ENDPOINT,
        "challenger": challenger.__dict__, "champion": champion.__dict__ if champion else None,
    }  # fmt: skip


def promote(kube, aws, dec=None):
    op = wire(
        SageMakerK8sPromoteOperator(task_id="promote_endpoint", config=config(), gate_task_id="gate"),
        kube,
        aws,
    )
    ti = FakeTI({("gate", "decision"): dec or decision()})
    return op, ti


def deferred(op, ti) -> SageMakerK8sRolloutTrigger:
    with pytest.raises(TaskDeferred) as e:
        op.execute(context(ti))
    assert e.value.method_name == "execute_complete"
    return e.value.trigger


def test_first_promotion_creates_the_serving_cr_and_waits_for_the_model_live():
    kube = FakeKube()
    op, ti = promote(kube, FakeAws(), decision(champion=None))
    trigger = deferred(op, ti)
    ((verb, name, body),) = kube.writes
    assert (verb, name) == ("create", ENDPOINT)
    assert body["spec"]["endpointName"] == ENDPOINT
    assert body["metadata"]["labels"]["airflow.apache.org/dag-id"] == DAG_ID
    assert read(body["metadata"]["annotations"], CANDIDATE).model_uri == NEW
    assert (trigger.name, trigger.endpoint_name, trigger.target_model) == (ENDPOINT, ENDPOINT, NEW)
    assert trigger.baseline == {
        "config_name": None,
        "last_modified": None,
        "failure_reason": None,
        "model_url": None,
    }
    assert SageMakerK8sRolloutTrigger(**trigger.serialize()[1]).serialize() == trigger.serialize()


def test_promotion_updates_the_cr_in_place_with_the_live_baseline():
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()})))
    live = LiveEndpoint("InService", "cfg-1", OLD, None, "2026-12-01T00:00:00+00:00")
    op, ti = promote(kube, FakeAws(live=live))
    trigger = deferred(op, ti)
    ((verb, name, patch),) = kube.writes
    assert (verb, name) == ("patch", ENDPOINT)
    assert patch["spec"]["models"][0]["containers"][0]["modelDataUrl"] == NEW
    candidate = read(patch["metadata"]["annotations"], CANDIDATE)
    assert (candidate.model_uri, candidate.baseline_config, candidate.baseline_model) == (NEW, "cfg-1", OLD)
    assert trigger.baseline["config_name"] == "cfg-1" and trigger.baseline["model_url"] == OLD
    assert (
        read(kube.objects[("hostingdeployments", "default", ENDPOINT)]["metadata"]["annotations"], CHAMPION)
        == CHAMP
    )


def test_a_retry_reattaches_to_the_promotion_under_way():
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()})))
    live = LiveEndpoint("InService", "cfg-1", OLD)
    first = deferred(*promote(kube, FakeAws(live=live)))
    kube.writes.clear()
    again = deferred(*promote(kube, FakeAws(live=LiveEndpoint("Updating", "cfg-1", OLD))))
    assert kube.writes == []  # no second update
    assert again.baseline == first.baseline  # the baseline from before the change, not from now


@pytest.mark.parametrize(
    ("objects", "live", "match"),
    [
        ([("hostingdeployments", serving_cr(dag="someone_else"))], None, "not this pipeline's"),
        ([], LiveEndpoint("InService", "cfg-x", OLD), "no HostingDeployment manages it"),
    ],
)
def test_promotion_refuses_an_endpoint_that_is_not_its_own(objects, live, match):
    kube = kube_with(*objects)
    op, ti = promote(kube, FakeAws(live=live))
    with pytest.raises(AirflowFailException, match=match):
        op.execute(context(ti))
    assert kube.writes == []


def rollout_event(status=SUCCESS, live=None, **extra):
    live = live if live is not None else LiveEndpoint("InService", "cfg-2", NEW).to_dict()
    return {
        "status": status, "message": f"{status}!", "name": ENDPOINT, "namespace": "default",
        "kind": "HostingDeployment", "object_status": {"endpointUrl": "https://x"}, "live": live, **extra,
    }  # fmt: skip


def test_promotion_completes_with_what_is_live():
    op, ti = promote(FakeKube(), FakeAws())
    result = op.execute_complete(context(ti), rollout_event())
    assert (result["endpoint_config"], result["model_uri"], result["endpoint_name"]) == (
        "cfg-2",
        NEW,
        ENDPOINT,
    )
    assert (
        result["challenger"]["training_job"] == "job-new" and result["champion"]["training_job"] == "job-old"
    )


@pytest.mark.parametrize(
    ("event", "error", "match"),
    [
        (rollout_event(FAILED, reason="ping failed", message="UpdateEndpoint failed, rolled back"),
         AirflowFailException, "rolled back"),
        (rollout_event(live=LiveEndpoint("InService", "cfg-1", OLD).to_dict()),
         AirflowException, "does not show"),
        ({**rollout_event(), "name": "other"}, AirflowException, "trigger event is for"),
        ({**rollout_event(), "live": None}, AirflowException, "without the live endpoint"),
        (rollout_event("deleted"), AirflowFailException, "deleted!"),
    ],
)  # fmt: skip
def test_promotion_checks_the_event_strictly(event, error, match):
    op, ti = promote(FakeKube(), FakeAws())
    with pytest.raises(error, match=match):
        op.execute_complete(context(ti), event)


# -- record, rollback, retention --------------------------------------------------------------------
def test_record_champion_moves_the_records_and_updates_the_assets():
    candidate = ModelRecord(**{**decision()["challenger"], "baseline_config": "cfg-1"})
    kube = kube_with(
        ("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json(), CANDIDATE: candidate.to_json()}))
    )
    promoted = {"challenger": decision()["challenger"], "endpoint_name": ENDPOINT, "endpoint_config": "cfg-2"}
    assets = [pipeline_asset(DAG_ID, "model"), pipeline_asset(DAG_ID, "endpoint")]
    op = wire(
        SageMakerK8sRecordChampionOperator(
            task_id="record_champion", config=config(), gate_task_id="gate", promoted=promoted,
            smoke={"accuracy": 0.91}, outlets=assets,
        ),
        kube, FakeAws(),
    )  # fmt: skip
    ctx = context()
    result = op.execute(ctx)
    annotations = kube.objects[("hostingdeployments", "default", ENDPOINT)]["metadata"]["annotations"]
    champion = read(annotations, CHAMPION)
    assert (champion.training_job, champion.accuracy, champion.baseline_config) == ("job-new", 0.91, None)
    assert read(annotations, PREVIOUS_CHAMPION) == CHAMP and CANDIDATE not in annotations
    for asset in assets:
        extra = ctx["outlet_events"][asset].extra
        assert (
            extra["model_uri"] == NEW and extra["metric_value"] == 0.1 and extra["training_job"] == "job-new"
        )
        assert extra["previous_model_uri"] == OLD and extra["endpoint_name"] == ENDPOINT
    assert result["promoted"] is True


DATASET = {
    "test": "s3://bucket/xgboost-mnist/test/",
    "test_labels": "s3://bucket/xgboost-mnist/labels/test.csv",
}


def rollback(kube, aws, accuracy=0.42, promote_state="failed"):
    op = wire(
        SageMakerK8sRollbackOperator(
            task_id="rollback_endpoint", gate_task_id="gate", config_task_id="config",
            dataset_task_id="dataset", promote_task_id="promote", smoke_task_id="smoke",
        ),
        kube, aws,
    )  # fmt: skip
    aws.objects = {"xgboost-mnist/test/examples": b"1,2\n3,4\n", "xgboost-mnist/labels/test.csv": b"7\n1\n"}
    aws.predictions = "7\n1"
    xcoms = {
        ("smoke", "accuracy"): accuracy,
        ("config", "return_value"): config(),
        ("dataset", "return_value"): DATASET,
    }
    return op, FakeTI(xcoms, {"promote": promote_state})


@pytest.mark.parametrize("promote_state", ["upstream_failed", "skipped", None])
def test_rollback_skips_when_the_promotion_never_ran(promote_state):
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()})))
    op, ti = rollback(kube, FakeAws(), promote_state=promote_state)
    with pytest.raises(AirflowSkipException, match="the endpoint was not touched"):
        op.execute(context(ti))
    assert kube.writes == []


def test_rollback_updates_back_to_the_champion_and_fails_naming_both_accuracies():
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()}, model=NEW)))
    op, ti = rollback(kube, FakeAws(live=LiveEndpoint("InService", "cfg-2", NEW)))
    with pytest.raises(TaskDeferred) as e:
        op.execute(context(ti))
    assert e.value.trigger.target_model == OLD and e.value.trigger.baseline["config_name"] == "cfg-2"
    ((verb, _, patch),) = kube.writes
    assert verb == "patch" and patch["spec"]["models"][0]["containers"][0]["modelDataUrl"] == OLD
    assert patch["metadata"]["annotations"] == {CANDIDATE: None}
    live = LiveEndpoint("InService", "cfg-3", OLD).to_dict()
    with pytest.raises(AirflowFailException) as failed:
        op.execute_complete(context(ti), {**rollout_event(live=live)})
    text = str(failed.value)
    assert "accuracy 0.420 < min_accuracy 0.8" in text and "rolled back to the champion job-old" in text
    assert "live accuracy is 1.000 on 2 rows" in text


def test_rollback_when_the_champion_still_serves_only_drops_the_candidate():
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: CHAMP.to_json()}, model=OLD)))
    op, ti = rollback(kube, FakeAws(live=LiveEndpoint("InService", "cfg-1", OLD)), accuracy=None)
    with pytest.raises(AirflowFailException, match=r"did not complete.*still serves the champion job-old"):
        op.execute(context(ti))
    assert [w[0] for w in kube.writes] == ["patch"]


def test_rollback_without_champion_deletes_the_endpoint():
    kube = kube_with(("hostingdeployments", serving_cr({}, model=NEW)))
    op, ti = rollback(kube, FakeAws(live=LiveEndpoint("InService", "cfg-1", NEW)))
    with pytest.raises(AirflowFailException, match="no champion to roll back to"):
        op.execute(context(ti))
    assert kube.writes == [("delete", ENDPOINT, None)]


def training_cr(name: str, day: int) -> dict:
    labels = {"airflow.apache.org/dag-id": DAG_ID, "airflow.apache.org/task-id": "submit_training"}
    meta = {
        "name": name,
        "namespace": "default",
        "labels": labels,
        "creationTimestamp": f"2026-11-{day:02d}T00:00:00Z",
    }
    return {"metadata": meta, "status": {"trainingJobStatus": "Completed"}}


def test_retention_keeps_the_newest_and_the_champions():
    jobs = [("trainingjobs", training_cr(f"cr-{d}", d)) for d in range(1, 6)]
    other = training_cr("someone-elses", 1)
    other["metadata"]["labels"]["airflow.apache.org/dag-id"] = "other_dag"
    record = ModelRecord("job-1", "cr-1", OLD, M, 0.2, "r")
    kube = kube_with(
        *jobs, ("trainingjobs", other), ("hostingdeployments", serving_cr({CHAMPION: record.to_json()}))
    )
    op = wire(
        SageMakerK8sRetentionOperator(task_id="retain_training_jobs", config=config(keep_training_jobs=2),
                                      submit_task_id="submit_training"),
        kube, FakeAws(),
    )  # fmt: skip
    result = op.execute(context())
    assert result["deleted"] == ["cr-2", "cr-3"] and result["protected"] == ["cr-1"]
    assert {name for (plural, _, name) in kube.objects if plural == "trainingjobs"} == {
        "cr-1", "cr-4", "cr-5", "someone-elses",
    }  # fmt: skip


def test_the_decision_record_is_json():
    assert json.loads(json.dumps(decision()))["challenger"]["model_uri"] == NEW


def test_a_rerun_after_the_record_verifies_without_changing_anything():
    recorded = ModelRecord(**{**decision()["challenger"], "promoted_at": "2026-12-06T00:00:00+00:00"})
    kube = kube_with(("hostingdeployments", serving_cr({CHAMPION: recorded.to_json()}, model=NEW)))
    trigger = deferred(*promote(kube, FakeAws(live=LiveEndpoint("InService", "cfg-2", NEW))))
    assert kube.writes == []
    assert trigger.baseline["model_url"] == NEW and trigger.target_model == NEW


def test_preflight_ownership_rows():
    from sagemaker_k8s.config.run_config import RunConfig
    from sagemaker_k8s.operators.preflight import _ownership_check

    per_run = serving_cr(model=OLD)
    per_run["metadata"].update(name="sagemaker-xgboost-mnis-deploy-endpoint-x-1234abcd")
    per_run["metadata"]["labels"]["airflow.apache.org/task-id"] = "deploy_endpoint"
    per_run["spec"]["endpointName"] = per_run["metadata"]["name"]
    cfg = RunConfig.from_dict(config())
    rows = _ownership_check(cfg, FakeAws(), kube_with(("hostingdeployments", per_run)), DAG_ID)
    assert [(r.check, r.status) for r in rows] == [
        ("serving endpoint", "pass"),
        ("per-run endpoints", "warn"),
    ]
    assert (
        "kubectl delete hostingdeployments -n default -l airflow.apache.org/task-id=deploy_endpoint"
        in rows[1].fix
    )
    outside = _ownership_check(cfg, FakeAws(live=LiveEndpoint("InService", "c", OLD)), FakeKube(), DAG_ID)
    assert [(r.check, r.status) for r in outside] == [("serving endpoint", "fail")]
    assert "aws sagemaker delete-endpoint --endpoint-name sagemaker-xgboost-mnist" in outside[0].fix


# -- approval ----------------------------------------------------------------------------------------
def approval(required: bool):
    from datetime import timedelta

    from sagemaker_k8s.operators.gate import SageMakerK8sApprovalOperator

    op = SageMakerK8sApprovalOperator(
        task_id="approve_promotion", config=config(require_approval=required), gate_task_id="gate",
        response_timeout=timedelta(hours=2),
    )  # fmt: skip
    return op, FakeTI({("gate", "decision"): decision()})


def test_approval_not_required_approves_at_once():
    op, ti = approval(False)
    assert op.execute(context(ti)) == {"approved": True, "required": False}


def test_approval_asks_with_both_models_and_waits(monkeypatch):
    import airflow.providers.standard.operators.hitl as hitl
    from airflow.sdk.exceptions import TaskAwaitingInput

    asked = {}
    monkeypatch.setattr(hitl, "upsert_hitl_detail", lambda **kwargs: asked.update(kwargs))
    op, ti = approval(True)
    ctx = {**context(ti), "task_instance": type("TI", (), {"id": "ti-1"})()}
    with pytest.raises(TaskAwaitingInput):
        op.execute(ctx)
    assert asked["options"] == ["Approve", "Reject"] and asked["defaults"] == ["Reject"]
    assert asked["subject"] == f"Promote job-new to endpoint {ENDPOINT}?"
    assert "job-old" in asked["body"] and "0.1" in asked["body"] and "0.2" in asked["body"]
    assert "No answer within 2 h counts as Reject" in asked["body"]


def answer(option: str, user: str | None = "alice") -> dict:
    from datetime import UTC, datetime

    responded = {"id": user, "name": user} if user else None
    return {"chosen_options": [option], "params_input": {}, "responded_at": datetime.now(UTC),
            "responded_by_user": responded}  # fmt: skip


def test_approve_and_reject_answers(capsys):
    op, ti = approval(True)
    result = op.execute_complete(context(ti), answer("Approve"))
    assert result["approved"] is True and result["responded_by"] == "alice"

    skipped = []
    op.skip = lambda ti, tasks: skipped.append([t.task_id for t in tasks])
    op.downstream_task_ids = {"promote_endpoint"}
    task = type("Task", (), {"get_direct_relatives": lambda self, upstream: [op]})()
    op.execute_complete({**context(ti), "task": task}, answer("Reject", user=None))
    assert skipped == [["approve_promotion"]]  # the parent skips the direct downstream (promote_endpoint)
    assert "promotion rejected by nobody (timed out: the default is Reject)" in capsys.readouterr().out
