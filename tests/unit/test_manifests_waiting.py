from __future__ import annotations

import pytest

from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.waiting import (
    DELETED,
    FAILED,
    NOT_ACKNOWLEDGED,
    RECONCILING_TIMEOUT,
    SUCCESS,
    WaitPolicy,
    WaitState,
    assess,
    created_at,
    deleted,
)

BORN = "2026-11-29T23:00:00Z"
T0 = created_at({"metadata": {"creationTimestamp": BORN}})
POLICY = WaitPolicy(ack_timeout=60, reconciling_timeout=300)


def tj(status: dict | None) -> dict:
    obj = {"metadata": {"name": "job", "namespace": "ml", "creationTimestamp": BORN}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"trainingJobStatus": "Completed"}, SUCCESS),
        ({"trainingJobStatus": "Failed", "additional": "AlgorithmError: boom"}, FAILED),
        ({"trainingJobStatus": "Stopped"}, FAILED),
        ({"trainingJobStatus": "InProgress", "secondaryStatus": "Training"}, None),
        ({"trainingJobStatus": "SynchronizingK8sJobWithSageMaker"}, None),
        ({"trainingJobStatus": "Stopping"}, None),
    ],
)
def test_training_outcomes(status, expected):
    outcome = assess(LEGACY_TRAINING_JOB, tj(status), now=T0 + 10, state=WaitState(), policy=POLICY)
    assert (outcome.status if outcome else None) == expected


def test_failure_message_carries_the_reason():
    status = {"trainingJobStatus": "Failed", "additional": "AlgorithmError: boom"}
    outcome = assess(LEGACY_TRAINING_JOB, tj(status), now=T0, state=WaitState(), policy=POLICY)
    assert "AlgorithmError: boom" in outcome.message
    assert outcome.reason == "AlgorithmError: boom"
    assert "ml/job" in outcome.message


@pytest.mark.parametrize(("elapsed", "expected"), [(59, None), (61, NOT_ACKNOWLEDGED)])
def test_acknowledgement_bound_counts_from_creation(elapsed, expected):
    outcome = assess(LEGACY_TRAINING_JOB, tj(None), now=T0 + elapsed, state=WaitState(), policy=POLICY)
    assert (outcome.status if outcome else None) == expected
    if outcome:
        assert "is it running and watching namespace ml?" in outcome.message


def test_reconciling_bound_counts_from_first_observation_and_resets():
    state = WaitState()
    stuck = tj({"trainingJobStatus": "ReconcilingTrainingJob", "additional": "AccessDenied: role"})
    assert assess(LEGACY_TRAINING_JOB, stuck, now=T0 + 1000, state=state, policy=POLICY) is None
    assert assess(LEGACY_TRAINING_JOB, stuck, now=T0 + 1299, state=state, policy=POLICY) is None
    running = tj({"trainingJobStatus": "InProgress"})
    assert assess(LEGACY_TRAINING_JOB, running, now=T0 + 1300, state=state, policy=POLICY) is None
    assert state.reconciling_since is None
    assert assess(LEGACY_TRAINING_JOB, stuck, now=T0 + 1400, state=state, policy=POLICY) is None
    outcome = assess(LEGACY_TRAINING_JOB, stuck, now=T0 + 1701, state=state, policy=POLICY)
    assert outcome.status == RECONCILING_TIMEOUT
    assert "AccessDenied: role" in outcome.message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"endpointStatus": "InService"}, SUCCESS),
        ({"endpointStatus": "Failed", "failureReason": "capacity"}, FAILED),
        ({"endpointStatus": "Creating"}, None),
    ],
)
def test_hosting_outcomes(status, expected):
    obj = {"metadata": {"name": "hd", "namespace": "ml", "creationTimestamp": BORN}, "status": status}
    outcome = assess(LEGACY_HOSTING_DEPLOYMENT, obj, now=T0, state=WaitState(), policy=POLICY)
    assert (outcome.status if outcome else None) == expected


def test_event_is_json_ready():
    outcome = assess(
        LEGACY_TRAINING_JOB, tj({"trainingJobStatus": "Completed"}), now=T0, state=WaitState(), policy=POLICY
    )
    event = outcome.to_event(name="job")
    assert event["status"] == SUCCESS and event["name"] == "job"


def test_ack_recoverable_past_the_bound_says_which_condition():
    from sagemaker_k8s.manifests.flavours import ACK_TRAINING_JOB
    from sagemaker_k8s.manifests.waiting import RECONCILING_TIMEOUT, WaitPolicy, WaitState, assess

    obj = {
        "metadata": {"name": "tj", "namespace": "ml", "creationTimestamp": "2026-12-06T00:00:00Z"},
        "status": {"conditions": [{"type": "ACK.Recoverable", "status": "True", "message": "throttled"}]},
    }
    state, policy = WaitState(), WaitPolicy(120, 10)
    assert assess(ACK_TRAINING_JOB, obj, now=1_800_000_000, state=state, policy=policy) is None
    outcome = assess(ACK_TRAINING_JOB, obj, now=1_800_000_011, state=state, policy=policy)
    assert outcome.status == RECONCILING_TIMEOUT
    assert outcome.message == (
        "TrainingJob ml/tj has been retrying an error (ACK.Recoverable condition is True) for 11s: throttled"
    )


def test_a_deleted_cr_has_one_outcome_and_message_for_the_sensor_and_both_triggers():
    outcome = deleted("HostingDeployment", "sagemaker", "pipeline-endpoint")
    assert outcome.status == DELETED
    assert outcome.message == "HostingDeployment sagemaker/pipeline-endpoint was deleted while waiting for it"
    assert outcome.to_event()["status"] == DELETED
