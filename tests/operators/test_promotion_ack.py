"""Promotion, record and rollback on the ACK flavour, on fake hooks: a revision (Model + EndpointConfig)
per served model, created and waited for before the Endpoint points at it; the rollout wait on the
Endpoint; old revisions deleted once the endpoint is confirmed on another."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import TaskDeferred

from sagemaker_k8s.manifests.ack import serving_revision
from sagemaker_k8s.manifests.waiting import SUCCESS
from sagemaker_k8s.operators.promote import SageMakerK8sPromoteOperator, SageMakerK8sRecordChampionOperator
from sagemaker_k8s.operators.rollback import SageMakerK8sRollbackOperator
from sagemaker_k8s.promotion.record import CANDIDATE, CHAMPION, ModelRecord, read
from sagemaker_k8s.promotion.rollout import LiveEndpoint
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger
from sagemaker_k8s.triggers.rollout import SageMakerK8sRolloutTrigger
from tests.operators.fakes import DAG_ID, FakeAws, FakeKube, FakeTI, config, context, wire
from tests.operators.test_promotion_operators import CHAMP, ENDPOINT, NEW, OLD, decision

SYNCED = {"conditions": [{"type": "ACK.ResourceSynced", "status": "True"}]}
REV_OLD, REV_NEW = serving_revision(ENDPOINT, OLD), serving_revision(ENDPOINT, NEW)


def promote(kube, aws, dec=None):
    op = SageMakerK8sPromoteOperator(
        task_id="promote_endpoint", config=config(flavour="ack"), gate_task_id="gate"
    )
    return wire(op, kube, aws), FakeTI({("gate", "decision"): dec or decision()})


def deferral(op, ti) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as e:
        op.execute(context(ti))
    return e.value


def sync(kube: FakeKube, plural: str, name: str) -> None:
    kube.objects[(plural, "default", name)]["status"] = SYNCED


def revision_event(name: str) -> dict:
    return {"status": SUCCESS, "message": "synced", "name": name, "namespace": "default",
            "kind": "EndpointConfig", "object_status": SYNCED}  # fmt: skip


def served(kube: FakeKube, model: str, annotations: dict) -> None:
    """An ACK Endpoint of this pipeline on ``model``'s revision, with synced Model and EndpointConfig."""
    op, _ = promote(kube, FakeAws())
    serving = op.ack_serving(DAG_ID, model, {"airflow.apache.org/dag-id": DAG_ID, **annotations})
    for plural, obj in (("models", serving.model), ("endpointconfigs", serving.endpoint_config)):
        kube.put(plural, {**obj, "status": SYNCED})
    kube.put("endpoints", {**serving.endpoint, "status": {"endpointStatus": "InService", **SYNCED}})


def test_first_promotion_creates_the_revision_then_the_endpoint():
    kube = FakeKube()
    op, ti = promote(kube, FakeAws())
    wait = deferral(op, ti)
    assert wait.method_name == "resume" and isinstance(wait.trigger, SageMakerK8sResourceTrigger)
    assert (wait.trigger.kind, wait.trigger.name) == ("EndpointConfig", REV_NEW)
    assert [(verb, name) for verb, name, _ in kube.writes] == [("create", REV_NEW), ("create", REV_NEW)]
    model = kube.objects[("models", "default", REV_NEW)]
    assert model["spec"]["primaryContainer"]["modelDataURL"] == NEW
    assert ("endpoints", "default", ENDPOINT) not in kube.objects  # not before its config exists

    sync(kube, "models", REV_NEW)
    sync(kube, "endpointconfigs", REV_NEW)
    with pytest.raises(TaskDeferred) as rollout:
        op.resume(context(ti), revision_event(REV_NEW))
    endpoint = kube.objects[("endpoints", "default", ENDPOINT)]
    assert endpoint["apiVersion"] == "sagemaker.services.k8s.aws/v1alpha1"
    assert endpoint["spec"] == {"endpointName": ENDPOINT, "endpointConfigName": REV_NEW}
    assert read(endpoint["metadata"]["annotations"], CANDIDATE).model_uri == NEW
    trigger = rollout.value.trigger
    assert isinstance(trigger, SageMakerK8sRolloutTrigger) and rollout.value.method_name == "execute_complete"
    assert (trigger.kind, trigger.api_version, trigger.target_model) == (
        "Endpoint",
        "sagemaker.services.k8s.aws/v1alpha1",
        NEW,
    )
    assert SageMakerK8sRolloutTrigger(**trigger.serialize()[1]).serialize() == trigger.serialize()


def test_update_points_the_endpoint_at_the_new_revision_with_the_live_baseline():
    kube = FakeKube()
    served(kube, OLD, {CHAMPION: CHAMP.to_json()})
    live = LiveEndpoint("InService", REV_OLD, OLD, None, "2026-12-01T00:00:00+00:00")
    op, ti = promote(kube, FakeAws(live=live))
    assert deferral(op, ti).method_name == "resume"
    kube.writes.clear()
    sync(kube, "endpointconfigs", REV_NEW)
    with pytest.raises(TaskDeferred) as rollout:
        op.resume(context(ti), revision_event(REV_NEW))
    ((verb, name, patch),) = kube.writes
    assert (verb, name) == ("patch", ENDPOINT)
    assert patch["spec"] == {"endpointName": ENDPOINT, "endpointConfigName": REV_NEW}
    candidate = read(patch["metadata"]["annotations"], CANDIDATE)
    assert (candidate.model_uri, candidate.baseline_config, candidate.baseline_model) == (NEW, REV_OLD, OLD)
    assert rollout.value.trigger.baseline["config_name"] == REV_OLD


def test_a_retry_after_the_patch_reattaches_without_writing():
    kube = FakeKube()
    served(kube, OLD, {CHAMPION: CHAMP.to_json()})
    op, ti = promote(kube, FakeAws(live=LiveEndpoint("InService", REV_OLD, OLD)))
    deferral(op, ti)
    sync(kube, "endpointconfigs", REV_NEW)
    with pytest.raises(TaskDeferred):
        op.resume(context(ti), revision_event(REV_NEW))
    kube.writes.clear()
    again = deferral(*promote(kube, FakeAws(live=LiveEndpoint("Updating", REV_OLD, OLD))))
    assert again.method_name == "execute_complete" and kube.writes == []


def test_a_failed_revision_fails_the_promotion():
    kube = FakeKube()
    op, ti = promote(kube, FakeAws())
    deferral(op, ti)
    event = {**revision_event(REV_NEW), "status": "failed", "message": "EndpointConfig failed: bad model"}
    with pytest.raises(Exception, match="bad model"):
        op.resume(context(ti), event)
    assert ("endpoints", "default", ENDPOINT) not in kube.objects


def test_record_champion_deletes_the_revisions_that_serve_nothing():
    kube = FakeKube()
    served(kube, OLD, {})
    challenger = decision()["challenger"]
    served(kube, NEW, {CHAMPION: CHAMP.to_json(), CANDIDATE: ModelRecord(**challenger).to_json()})
    promoted = {"challenger": challenger, "endpoint_name": ENDPOINT, "endpoint_config": REV_NEW}
    op = wire(
        SageMakerK8sRecordChampionOperator(task_id="record_champion", config=config(flavour="ack"),
                                           gate_task_id="gate", promoted=promoted, smoke={"accuracy": 0.9}),
        kube, FakeAws(),
    )  # fmt: skip
    op.execute(context())
    revisions = {
        (plural, name) for plural, _, name in kube.objects if plural in ("models", "endpointconfigs")
    }
    assert revisions == {("models", REV_NEW), ("endpointconfigs", REV_NEW)}
    assert (
        read(kube.objects[("endpoints", "default", ENDPOINT)]["metadata"]["annotations"], CHAMPION).model_uri
        == NEW
    )


def rollback(kube, aws):
    op = SageMakerK8sRollbackOperator(
        task_id="rollback_endpoint", gate_task_id="gate", config_task_id="resolve_config",
        dataset_task_id="upload_dataset", promote_task_id="promote_endpoint", smoke_task_id="smoke",
    )  # fmt: skip
    ti = FakeTI(
        {("resolve_config", "return_value"): config(flavour="ack"), ("upload_dataset", "return_value"): {}},
        states={"promote_endpoint": "failed"},
    )
    return wire(op, kube, aws), ti


def test_rollback_without_champion_deletes_the_endpoint_and_its_revisions():
    kube = FakeKube()
    served(kube, NEW, {})
    op, ti = rollback(kube, FakeAws(live=LiveEndpoint("InService", REV_NEW, NEW)))
    with pytest.raises(Exception, match="no champion to roll back to, so Endpoint"):
        op.execute(context(ti))
    assert not [key for key in kube.objects if key[0] in ("endpoints", "models", "endpointconfigs")]


def test_rollback_recreates_the_champions_revision_before_switching_back():
    kube = FakeKube()
    served(kube, NEW, {CHAMPION: CHAMP.to_json()})  # the champion's revision was pruned meanwhile
    op, ti = rollback(kube, FakeAws(live=LiveEndpoint("InService", REV_NEW, NEW)))
    wait = deferral(op, ti)
    assert (wait.method_name, wait.trigger.name) == ("resume", REV_OLD)
    assert kube.objects[("models", "default", REV_OLD)]["spec"]["primaryContainer"]["modelDataURL"] == OLD
