"""When a promotion or rollback is live: the CR and SageMaker's view together (pure)."""

from __future__ import annotations

import pytest

from sagemaker_k8s.manifests.waiting import (
    FAILED,
    NOT_ACKNOWLEDGED,
    RECONCILING_TIMEOUT,
    SUCCESS,
    WaitPolicy,
    WaitState,
)
from sagemaker_k8s.promotion.rollout import Baseline, LiveEndpoint, assess_rollout

OLD, NEW = "s3://b/old/model.tar.gz", "s3://b/new/model.tar.gz"
BASE = Baseline("cfg-1", "2026-12-06T01:00:00+00:00", None, OLD)
NOW = 1_800_000_000.0


def cr(status: str | None = "InService", wanted: str = "cfg-2", **extra) -> dict:
    meta = {"name": "ep", "namespace": "default", "creationTimestamp": "2026-12-06T00:00:00Z"}
    body = {"metadata": {**meta, **extra.pop("metadata", {})}}
    if status is not None:
        body["status"] = {"endpointStatus": status, "endpointConfigName": wanted, **extra}
    return body


def live(status="InService", config="cfg-2", model=NEW, failure=None, modified="2026-12-06T02:00:00+00:00"):
    return LiveEndpoint(status, config, model, failure, modified)


def assess(obj, endpoint, baseline=BASE, *, now=NOW, state=None, policy=None):
    return assess_rollout(
        obj,
        endpoint,
        target_model=NEW,
        baseline=baseline,
        now=now,
        state=state or WaitState(),
        policy=policy or WaitPolicy(120, 600),
    )


def test_live_on_the_new_config_with_the_target_model_succeeds():
    outcome = assess(cr(), live())
    assert outcome.status == SUCCESS and "cfg-2" in outcome.message and NEW in outcome.message


@pytest.mark.parametrize(
    ("obj", "endpoint"),
    [
        (cr(), live(status="Updating", config="cfg-1", model=OLD)),  # update under way
        (cr(wanted="cfg-1"), live(config="cfg-1", model=OLD)),  # controller has not seen the spec change
        (cr(), live(config="cfg-1", model=OLD)),  # children created, UpdateEndpoint not called yet
        (cr(wanted="cfg-1"), live()),  # SageMaker done, CR status not refreshed yet
        (cr("Creating"), None),  # first promotion: endpoint not created yet
        (cr(), None),
    ],
)
def test_still_on_its_way(obj, endpoint):
    assert assess(obj, endpoint) is None


def test_a_rolled_back_update_fails_with_sagemakers_reason():
    endpoint = live(config="cfg-1", model=OLD, failure="ping health check failed")
    outcome = assess(cr(failureReason="ping health check failed"), endpoint)
    assert outcome.status == FAILED and "rolled back" in outcome.message
    assert outcome.reason == "ping health check failed" and OLD in outcome.message


def test_an_old_failure_reason_is_not_mistaken_for_this_update():
    baseline = Baseline("cfg-1", "2026-12-06T01:00:00+00:00", "an earlier failure", OLD)
    same = live(config="cfg-1", model=OLD, failure="an earlier failure", modified="2026-12-06T01:00:00+00:00")
    assert assess(cr(), same, baseline) is None
    newer = live(
        config="cfg-1", model=OLD, failure="an earlier failure", modified="2026-12-06T03:00:00+00:00"
    )
    assert assess(cr(), newer, baseline).status == FAILED


def test_first_promotion_has_no_baseline():
    assert assess(cr(wanted="cfg-1"), live(config="cfg-1"), Baseline()).status == SUCCESS


def test_target_already_live_before_the_change_succeeds():
    baseline = Baseline("cfg-1", None, None, NEW)
    assert assess(cr(wanted="cfg-1"), live(config="cfg-1"), baseline).status == SUCCESS


@pytest.mark.parametrize(
    ("obj", "endpoint"),
    [
        (cr("Failed", failureReason="boom"), live()),
        (cr("Deleting"), live()),
        (cr(metadata={"deletionTimestamp": "2026-12-06T02:00:00Z"}), live(status="Updating")),
        (cr(), live(status="Failed", failure="boom")),
    ],
)
def test_failed_or_deleted(obj, endpoint):
    assert assess(obj, endpoint).status == FAILED


def test_reconciling_is_bounded_and_unacknowledged_fails():
    state = WaitState()
    stuck = cr("ReconcilingEndpoint", additional="Unable to update SageMaker endpoint: AccessDenied")
    assert assess(stuck, live(), now=NOW, state=state) is None
    outcome = assess(stuck, live(), now=NOW + 601, state=state)
    assert outcome.status == RECONCILING_TIMEOUT and "AccessDenied" in outcome.message
    assert assess(cr(None), None, now=NOW).status == NOT_ACKNOWLEDGED  # created long before NOW


# -- ACK: the Endpoint's own spec.endpointConfigName is the config wanted ----------------------------
def ack_cr(conditions: list[dict] | None = None, wanted: str = "cfg-2", status: str = "InService") -> dict:
    meta = {"name": "ep", "namespace": "default", "creationTimestamp": "2026-12-06T00:00:00Z"}
    body = {"metadata": meta, "spec": {"endpointName": "ep", "endpointConfigName": wanted}}
    body["status"] = {"endpointStatus": status, "conditions": conditions or []}
    return body


def ack_assess(obj, endpoint):
    from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT

    return assess_rollout(obj, endpoint, target_model=NEW, baseline=BASE, now=NOW, state=WaitState(),
                          policy=WaitPolicy(120, 600), kind=ACK_ENDPOINT)  # fmt: skip


SYNCED = {"type": "ACK.ResourceSynced", "status": "True"}
UPDATE_ERROR = {
    "type": "ACK.Terminal",
    "status": "True",
    "message": "unable to update endpoint. check FailureReason. latest EndpointConfigName is cfg-2",
}


def test_ack_success_reads_the_wanted_config_from_the_spec():
    assert ack_assess(ack_cr([SYNCED]), live()).status == SUCCESS
    assert ack_assess(ack_cr([SYNCED], wanted="cfg-3"), live()) is None  # live, but not what is asked


def test_ack_update_still_syncing_waits():
    unsynced = {"type": "ACK.ResourceSynced", "status": "False", "message": "Endpoint is in Updating status."}
    assert ack_assess(ack_cr([unsynced], status="Updating"), live("Updating", "cfg-1", OLD)) is None


def test_ack_rolled_back_update_fails_with_sagemakers_reason_even_when_terminal():
    rolled = live(config="cfg-1", model=OLD, failure="ping failed")
    outcome = ack_assess(ack_cr([UPDATE_ERROR]), rolled)
    assert outcome.status == FAILED and "SageMaker rolled back" in outcome.message
    assert "ping failed" in outcome.message


def test_ack_terminal_without_the_live_view_names_the_failure_reason():
    obj = ack_cr([UPDATE_ERROR])
    obj["status"]["failureReason"] = "ping failed"
    outcome = ack_assess(obj, None)
    assert outcome.status == FAILED
    assert "check FailureReason" in outcome.message and "(failureReason: ping failed)" in outcome.message


def test_ack_live_success_wins_over_a_terminal_condition_from_before_the_change():
    """A rollback to the config SageMaker already rolled back to: the Endpoint still shows the failed
    promotion's Terminal (its last reconcile predates the spec change), but the champion is live on
    the config the spec wants: done."""
    baseline = Baseline("cfg-1", "2026-12-06T03:00:00+00:00", "ping failed", NEW)  # live before the rollback
    obj = ack_cr([UPDATE_ERROR], wanted="cfg-1")
    back = live(config="cfg-1", model=NEW, failure="ping failed", modified="2026-12-06T03:00:00+00:00")
    from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT

    outcome = assess_rollout(obj, back, target_model=NEW, baseline=baseline, now=NOW, state=WaitState(),
                             policy=WaitPolicy(120, 600), kind=ACK_ENDPOINT)  # fmt: skip
    assert outcome.status == SUCCESS
