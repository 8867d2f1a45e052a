"""The ACK emulator's TrainingJob: a real training run mirrored into the status, the ACK conditions
(ResourceSynced from the job's status, Terminal only for terminal API errors and unsupported updates),
Debugger rules keeping ResourceSynced False after Completed, faults, and deletion (stop, retain)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.helpers import wait_for
from tests.sandbox.ack.ack_helpers import (
    API_VERSION,
    TJ,
    annotate,
    aws,
    condition,
    conditions,
    delete_cr,
    finalizer,
    get_cr,
    patch_cr,
    status_of,
    training_cr,
    wait_condition,
    wait_field,
    wait_gone,
    wait_passes,
    wait_status,
)

SYNCED, TERMINAL, RECOVERABLE, READY = "ACK.ResourceSynced", "ACK.Terminal", "ACK.Recoverable", "Ready"
DONE = ("Completed", "Failed", "Stopped")
RULES_REGISTRY = "895741380848.dkr.ecr.us-west-2.amazonaws.com"


def describe(sandbox, job: str) -> dict:
    return aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=job)


def job_names(sandbox) -> set[str]:
    pages = aws(sandbox, "sagemaker").get_paginator("list_training_jobs").paginate()
    return {s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]}


class History:
    """Every distinct (trainingJobStatus, ResourceSynced status, its message) the CR shows, polled faster
    than the controller writes."""

    def __init__(self, sandbox, name: str) -> None:
        self.seen: list[tuple] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(sandbox, name), daemon=True)
        self._thread.start()

    def _poll(self, sandbox, name: str) -> None:
        while not self._stop.wait(0.03):
            self._sample(sandbox, name)

    def _sample(self, sandbox, name: str) -> None:
        status = status_of(sandbox, TJ, name)
        entry = (status.get("trainingJobStatus"), *condition(status, SYNCED))
        if entry[0] and (not self.seen or self.seen[-1] != entry):
            self.seen.append(entry)

    def stop(self, sandbox, name: str) -> list[tuple]:
        """Stop polling, then take one last sample (the state the caller waited for)."""
        self._stop.set()
        self._thread.join(5)
        self._sample(sandbox, name)
        return self.seen


@pytest.fixture(scope="module")
def trained(shared_sandbox, data):
    """The e2e TrainingJob sample (quick), run to the end: (status, history)."""
    history = History(shared_sandbox, "ack-train")
    shared_sandbox.kube.apply(training_cr(shared_sandbox, data, "ack-train"))
    status = wait_field(shared_sandbox, TJ, "ack-train", "trainingJobStatus", DONE, timeout=90)
    wait_condition(shared_sandbox, TJ, "ack-train", SYNCED)
    return status, history.stop(shared_sandbox, "ack-train")


def test_training_job_completes_with_a_real_model_artifact(shared_sandbox, data, trained):
    sandbox, (status, history) = shared_sandbox, trained
    assert status["trainingJobStatus"] == "Completed", status
    assert status["secondaryStatus"] == "Completed"
    artifact = status["modelArtifacts"]["s3ModelArtifacts"]
    assert artifact == f"{data}output/ack-train/output/model.tar.gz"  # from DescribeTrainingJob
    bucket, key = artifact.removeprefix("s3://").split("/", 1)
    assert aws(sandbox, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    assert status["ackResourceMetadata"] == {
        "arn": describe(sandbox, "ack-train")["TrainingJobArn"],
        "ownerAccountID": sandbox.info.account,
        "region": sandbox.info.region,
        "partition": "aws",
    }
    assert {"creationTime", "lastModifiedTime"} <= set(status)
    assert "failureReason" not in status
    assert get_cr(sandbox, TJ, "ack-train")["metadata"]["finalizers"] == [finalizer("TrainingJob")]
    final = conditions(status)
    assert (final[SYNCED]["status"], final[SYNCED]["message"]) == (
        "True",
        "TrainingJob is in Completed status.",
    )
    assert (final[READY]["status"], final[READY]["message"]) == (
        "True",
        "TrainingJob is in Completed status.",
    )
    assert TERMINAL not in final and RECOVERABLE not in final
    assert ("InProgress", "False", "TrainingJob is in InProgress status.") in history
    assert history[-1] == ("Completed", "True", "TrainingJob is in Completed status.")


@pytest.mark.parametrize(
    ("fault", "final", "reason"),
    [("fail:AlgorithmError: boom", "Failed", "AlgorithmError: boom"), ("stop", "Stopped", None)],
)
def test_failed_or_stopped_job_is_synced_not_terminal(shared_sandbox, data, fault, final, reason):
    sandbox, name = shared_sandbox, f"ack-{final.lower()}"
    sandbox.kube.apply(training_cr(sandbox, data, name, fault=fault))
    status = wait_field(sandbox, TJ, name, "trainingJobStatus", DONE)
    assert status["trainingJobStatus"] == final
    assert status.get("failureReason") == reason
    assert condition(status, SYNCED) == ("True", f"TrainingJob is in {final} status.")
    assert TERMINAL not in conditions(status)  # a failed job is not ACK.Terminal: read failureReason
    assert describe(sandbox, name)["TrainingJobStatus"] == final


def test_a_name_that_already_exists_is_terminal_and_its_deletion_touches_nothing(
    shared_sandbox, data, trained
):
    sandbox = shared_sandbox
    before = job_names(sandbox)
    cr = training_cr(sandbox, data, "ack-train")
    cr["metadata"]["name"] = "ack-train-again"
    sandbox.kube.apply(cr)
    status = wait_condition(sandbox, TJ, "ack-train-again", TERMINAL)
    terminal = conditions(status)[TERMINAL]
    assert terminal["message"] == "Resource already exists"
    assert terminal["reason"].startswith("This resource already exists but is not managed by ACK.")
    assert "services.k8s.aws/adoption-policy" in terminal["reason"]
    assert condition(status, READY) == ("False", "Resource already exists")
    assert conditions(status)[READY]["reason"] == TERMINAL
    assert not get_cr(sandbox, TJ, "ack-train-again")["metadata"].get("finalizers")
    wait_passes(sandbox)
    assert job_names(sandbox) == before
    delete_cr(sandbox, TJ, "ack-train-again")
    wait_gone(sandbox, TJ, "ack-train-again")
    assert describe(sandbox, "ack-train")["TrainingJobStatus"] == "Completed"


def test_a_spec_change_other_than_warm_pool_or_profiler_is_terminal(shared_sandbox, trained):
    sandbox = shared_sandbox
    patch_cr(sandbox, TJ, "ack-train", {"spec": {"tags": [{"key": "team", "value": "ml"}]}})
    wait_passes(sandbox)
    assert TERMINAL not in conditions(status_of(sandbox, TJ, "ack-train"))  # tags are not compared
    patch_cr(sandbox, TJ, "ack-train", {"spec": {"hyperParameters": {"num_round": "7"}}})
    status = wait_condition(sandbox, TJ, "ack-train", TERMINAL)
    assert condition(status, TERMINAL) == ("True", "only Warm Pool or Profiler can be updated")
    assert conditions(status)[READY]["reason"] == TERMINAL
    assert status["trainingJobStatus"] == "Completed"
    patch_cr(sandbox, TJ, "ack-train", {"spec": {"hyperParameters": {"num_round": "3"}}})  # reverted
    status = wait_status(
        sandbox, TJ, "ack-train", lambda s: TERMINAL not in conditions(s), what="no Terminal"
    )
    assert condition(status, READY)[0] == "True"


def test_debugger_rules_keep_resource_synced_false_after_completed(shared_sandbox, data):
    sandbox, name = shared_sandbox, "ack-debugger"
    cr = training_cr(sandbox, data, name)
    cr["spec"]["debugRuleConfigurations"] = [
        {
            "ruleConfigurationName": "LossNotDecreasing",
            "ruleEvaluatorImage": f"{RULES_REGISTRY}/sagemaker-debugger-rules:latest",
            "ruleParameters": {"rule_to_invoke": "LossNotDecreasing"},
        }
    ]
    sandbox.kube.apply(cr)
    status = wait_field(sandbox, TJ, name, "trainingJobStatus", DONE)
    assert status["trainingJobStatus"] == "Completed"
    assert condition(status, SYNCED) == ("False", "DebugRule is in InProgress status.")
    [rule] = status["debugRuleEvaluationStatuses"]
    assert (rule["ruleConfigurationName"], rule["ruleEvaluationStatus"]) == (
        "LossNotDecreasing",
        "InProgress",
    )
    status = wait_condition(sandbox, TJ, name, SYNCED)
    assert status["debugRuleEvaluationStatuses"][0]["ruleEvaluationStatus"] == "NoIssuesFound"
    assert condition(status, SYNCED) == ("True", "TrainingJob is in Completed status.")


def test_rules_pending_fault_holds_a_completed_job_unsynced_until_cleared(armed, data):
    sandbox, name = armed, "ack-pending-1"
    sandbox.arm_fault("rules-pending", kind="TrainingJob", name="ack-pending-*")
    sandbox.kube.apply(training_cr(sandbox, data, name))
    status = wait_field(sandbox, TJ, name, "trainingJobStatus", DONE)
    wait_passes(sandbox, 5)
    status = status_of(sandbox, TJ, name)
    assert status["trainingJobStatus"] == "Completed"
    assert condition(status, SYNCED) == ("False", "ProfilerRule is in InProgress status.")
    assert condition(status, READY)[0] == "False"
    assert status["profilingStatus"] == "Enabled"
    assert status["profilerRuleEvaluationStatuses"][0]["ruleConfigurationName"] == "ProfilerReport"
    sandbox.clear_faults()
    status = wait_condition(sandbox, TJ, name, SYNCED)
    assert condition(status, SYNCED) == ("True", "TrainingJob is in Completed status.")


def test_recoverable_fault_is_retried_until_cleared(armed, data):
    sandbox, name = armed, "ack-throttled"
    sandbox.arm_fault("recoverable:ThrottlingException: Rate exceeded", kind="TrainingJob", name=name)
    sandbox.kube.apply(training_cr(sandbox, data, name))
    status = wait_condition(sandbox, TJ, name, RECOVERABLE)
    assert condition(status, RECOVERABLE) == ("True", "api error ThrottlingException: Rate exceeded")
    synced = conditions(status)[SYNCED]
    assert (synced["status"], synced["message"]) == (
        "Unknown",
        "Unable to determine if desired resource state matches latest observed state",
    )
    assert synced["reason"].startswith("operation error SageMaker: DescribeTrainingJob, https response error")
    assert conditions(status)[READY]["reason"] == RECOVERABLE
    assert (
        status["ackResourceMetadata"]["region"] == sandbox.info.region
        and "arn" not in status["ackResourceMetadata"]
    )
    assert name not in job_names(sandbox)
    sandbox.clear_faults()
    status = wait_field(sandbox, TJ, name, "trainingJobStatus", DONE)
    assert status["trainingJobStatus"] == "Completed" and RECOVERABLE not in conditions(status)


def test_terminal_fault_is_terminal_and_not_retried(shared_sandbox, data):
    sandbox, name = shared_sandbox, "ack-terminal"
    sandbox.kube.apply(
        training_cr(sandbox, data, name, fault="terminal:InvalidParameterValue: no such image")
    )
    status = wait_condition(sandbox, TJ, name, TERMINAL)
    assert condition(status, TERMINAL) == ("True", "api error InvalidParameterValue: no such image")
    assert condition(status, SYNCED) == ("False", "Resource not synced")
    assert conditions(status)[SYNCED]["reason"] == "resource is in terminal condition"
    assert name not in job_names(sandbox)
    writes = get_cr(sandbox, TJ, name)["metadata"]["resourceVersion"]
    wait_passes(sandbox, 3)
    assert get_cr(sandbox, TJ, name)["metadata"]["resourceVersion"] == writes  # settled: not requeued


def test_deleting_an_in_progress_job_stops_it(shared_sandbox, data):
    sandbox, name = shared_sandbox, "ack-stuck"
    sandbox.kube.apply(training_cr(sandbox, data, name, fault="hang"))
    wait_field(sandbox, TJ, name, "secondaryStatus", "Training")
    delete_cr(sandbox, TJ, name)
    wait_gone(sandbox, TJ, name)
    wait_for(lambda: describe(sandbox, name)["TrainingJobStatus"] == "Stopped", timeout=30, what="Stopped")
    transitions = [t["Status"] for t in describe(sandbox, name)["SecondaryStatusTransitions"]]
    assert transitions[-2:] == ["Stopping", "Stopped"]


def test_deleting_a_completed_job_calls_nothing(shared_sandbox, data):
    sandbox, name = shared_sandbox, "ack-done"
    sandbox.kube.apply(training_cr(sandbox, data, name))
    wait_field(sandbox, TJ, name, "trainingJobStatus", DONE)
    modified = describe(sandbox, name)["LastModifiedTime"]
    delete_cr(sandbox, TJ, name)
    wait_gone(sandbox, TJ, name)
    assert describe(sandbox, name)["LastModifiedTime"] == modified


def test_retain_policy_leaves_a_running_job_running(shared_sandbox, data):
    sandbox, name = shared_sandbox, "ack-retained"
    cr = annotate(
        training_cr(sandbox, data, name, fault="hang"), **{"services.k8s.aws/deletion-policy": "retain"}
    )
    sandbox.kube.apply(cr)
    wait_field(sandbox, TJ, name, "secondaryStatus", "Training")
    delete_cr(sandbox, TJ, name)
    wait_gone(sandbox, TJ, name)
    time.sleep(0.3)
    assert describe(sandbox, name)["TrainingJobStatus"] == "InProgress"
    aws(sandbox, "sagemaker").stop_training_job(TrainingJobName=name)


def test_adoption_tracks_an_existing_job(shared_sandbox, data, trained):
    """``adopt`` with ``adoption-fields`` naming the job: the CR is managed and adopted, its spec copied from
    the job; ``adopt-or-create`` for an existing name adopts too; neither starts a training job."""
    sandbox = shared_sandbox
    before = job_names(sandbox)
    cr = training_cr(sandbox, data, "placeholder-name")
    cr["metadata"]["name"] = "ack-adopter"
    cr["spec"]["hyperParameters"] = {"num_round": "1"}
    annotate(
        cr,
        **{
            "services.k8s.aws/adoption-policy": "adopt",
            "services.k8s.aws/adoption-fields": '{"trainingJobName": "ack-train"}',
        },
    )
    sandbox.kube.apply(cr)
    status = wait_condition(sandbox, TJ, "ack-adopter", SYNCED)
    adopted = get_cr(sandbox, TJ, "ack-adopter")
    assert adopted["metadata"]["annotations"]["services.k8s.aws/adopted"] == "true"
    assert adopted["metadata"]["finalizers"] == [finalizer("TrainingJob")]
    assert adopted["spec"]["trainingJobName"] == "ack-train"
    assert adopted["spec"]["hyperParameters"]["num_round"] == "3"  # the job's, not the CR's
    assert status["trainingJobStatus"] == "Completed"
    assert status["ackResourceMetadata"]["arn"].endswith(":training-job/ack-train")

    cr = annotate(
        training_cr(sandbox, data, "ack-train"), **{"services.k8s.aws/adoption-policy": "adopt-or-create"}
    )
    cr["metadata"]["name"] = "ack-adopt-or-create"
    sandbox.kube.apply(cr)
    status = wait_condition(sandbox, TJ, "ack-adopt-or-create", SYNCED)
    assert (
        get_cr(sandbox, TJ, "ack-adopt-or-create")["metadata"]["annotations"]["services.k8s.aws/adopted"]
        == "true"
    )
    assert status["trainingJobStatus"] == "Completed" and TERMINAL not in conditions(status)
    assert job_names(sandbox) == before
    for name in ("ack-adopter", "ack-adopt-or-create"):  # adopted: deleting stops nothing (it is Completed)
        delete_cr(sandbox, TJ, name)
        wait_gone(sandbox, TJ, name)


def test_adopting_a_missing_job_writes_nothing_until_it_exists(shared_sandbox, data):
    sandbox = shared_sandbox
    cr = annotate(
        training_cr(sandbox, data, "ack-later"),
        **{
            "services.k8s.aws/adoption-policy": "adopt",
            "services.k8s.aws/adoption-fields": '{"trainingJobName": "ack-later"}',
        },
    )
    sandbox.kube.apply(cr)
    wait_passes(sandbox, 3)
    assert status_of(sandbox, TJ, "ack-later") == {}
    assert "ack-later" not in job_names(sandbox)
    request = {
        k: v
        for k, v in describe(sandbox, "ack-train").items()
        if k
        in (
            "AlgorithmSpecification",
            "RoleArn",
            "InputDataConfig",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
            "HyperParameters",
        )
    }
    aws(sandbox, "sagemaker").create_training_job(TrainingJobName="ack-later", **request)
    status = wait_field(sandbox, TJ, "ack-later", "trainingJobStatus", DONE)
    assert get_cr(sandbox, TJ, "ack-later")["metadata"]["annotations"]["services.k8s.aws/adopted"] == "true"
    assert status["trainingJobStatus"] == "Completed"


def test_bad_adoption_fields_are_terminal(shared_sandbox, data):
    sandbox = shared_sandbox
    cr = annotate(
        training_cr(sandbox, data, "ack-bad-adopt"),
        **{"services.k8s.aws/adoption-policy": "adopt", "services.k8s.aws/adoption-fields": '{"name": "x"}'},
    )
    sandbox.kube.apply(cr)
    status = wait_condition(sandbox, TJ, "ack-bad-adopt", TERMINAL)
    assert condition(status, TERMINAL)[1] == (
        "Error populating adoption fields: required field missing: trainingJobName"
    )
    assert get_cr(sandbox, TJ, "ack-bad-adopt")["apiVersion"] == API_VERSION
