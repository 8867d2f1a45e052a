"""The cleanup decision: delete a CR only when its wait ended without success and it is not final."""

from __future__ import annotations

import pytest

from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, LEGACY_HPO_JOB, LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.orphans import unwatched_reason


def job(status: dict | None, *, deleting: bool = False) -> dict:
    meta = {"name": "tj-1", "namespace": "ml"}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-30T06:00:00Z"
    obj = {"apiVersion": "sagemaker.aws.amazon.com/v1", "kind": "TrainingJob", "metadata": meta}
    if status is not None:
        obj["status"] = status
    return obj


RUNNING = {"trainingJobStatus": "InProgress", "secondaryStatus": "Training"}


@pytest.mark.parametrize(
    ("obj", "wait_state"),
    [
        (None, "failed"),  # already gone (the trigger's on_kill got there first)
        (job(RUNNING, deleting=True), "failed"),  # already being deleted
        (job(RUNNING), "success"),  # cannot happen with this sensor; never delete on success anyway
        (job({"trainingJobStatus": "Completed"}), "failed"),  # marked failed after it finished
        (job({"trainingJobStatus": "Failed", "additional": "AlgorithmError: boom"}), "failed"),
        (job({"trainingJobStatus": "Stopped"}), "failed"),
        (job({"trainingJobStatus": "Completed"}), "upstream_failed"),
    ],
)
def test_kept(obj, wait_state):
    assert unwatched_reason(LEGACY_TRAINING_JOB, obj, wait_state, "wait_training") is None


@pytest.mark.parametrize(
    ("status", "wait_state", "phase", "shown"),
    [
        (RUNNING, "failed", "running", "InProgress"),
        (RUNNING, "removed", "running", "InProgress"),  # any state but success
        (RUNNING, "skipped", "running", "InProgress"),
        (RUNNING, None, "running", "InProgress"),
        ({"trainingJobStatus": "Stopping"}, "failed", "running", "Stopping"),
        (None, "failed", "pending", "no status yet"),  # operator never acknowledged it
        (
            {"trainingJobStatus": "ReconcilingTrainingJob", "additional": "AccessDenied"},
            "failed",
            "reconciling",
            "ReconcilingTrainingJob",
        ),
        # the operator's own retried initialisation error is not a final Failed
        (
            {"trainingJobStatus": "Failed", "additional": "Unable to initialize operator: no creds"},
            "upstream_failed",
            "reconciling",
            "Failed",
        ),
    ],
)
def test_deleted_when_unwatched_and_not_final(status, wait_state, phase, shown):
    reason = unwatched_reason(LEGACY_TRAINING_JOB, job(status), wait_state, "wait_training")
    assert reason is not None
    ended = wait_state or "without a state"
    assert reason.startswith(f"wait_training ended {ended} while TrainingJob ml/tj-1")
    assert f"still {phase} ({shown})" in reason
    assert "\n" not in reason


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"endpointStatus": "InService"}, False),
        ({"endpointStatus": "Creating"}, True),
        ({"endpointStatus": "Failed", "failureReason": "x"}, False),
    ],
)
def test_other_kinds_use_their_own_status_table(status, expected):
    obj = {"metadata": {"name": "hd", "namespace": "ml"}, "status": status}
    reason = unwatched_reason(LEGACY_HOSTING_DEPLOYMENT, obj, "failed", "deploy_endpoint")
    assert (reason is not None) is expected
    if expected:
        assert "HostingDeployment ml/hd" in reason


HPO = "hyperParameterTuningJobStatus"


@pytest.mark.parametrize(
    ("status", "deleting", "expected"),
    [
        ({HPO: "InProgress", "trainingJobStatusCounters": {"inProgress": 2}}, False,
         "still running (InProgress)"),
        ({HPO: "Stopping"}, False, "still running (Stopping)"),
        ({HPO: "ReconcilingTuningJob", "additional": "ThrottlingException"}, False,
         "still reconciling (ReconcilingTuningJob)"),
        (None, False, "still pending (no status yet)"),
        ({HPO: "InProgress"}, True, None),  # the controller is stopping it
        ({HPO: "Completed", "bestTrainingJob": {"trainingJobName": "t-001-a"}}, False, None),
        ({HPO: "Failed", "additional": "No training job succeeded"}, False, None),
        ({HPO: "Stopped"}, False, None),
    ],
)  # fmt: skip
def test_tuning_jobs_read_the_hpo_status_table(status, deleting, expected):
    meta = {
        "name": "hpo",
        "namespace": "ml",
        **({"deletionTimestamp": "2026-12-06T00:00:00Z"} if deleting else {}),
    }
    obj = {"metadata": meta, **({"status": status} if status is not None else {})}
    reason = unwatched_reason(LEGACY_HPO_JOB, obj, "failed", "wait_tuning")
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith("wait_tuning ended failed while HyperparameterTuningJob ml/hpo is ")
        assert expected in reason
