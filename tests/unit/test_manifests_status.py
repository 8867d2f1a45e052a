"""Status tables and interpret(): every documented value, the ambiguous ones, and hostile input."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_k8s.manifests.flavours import (
    ACK_ENDPOINT,
    ACK_ENDPOINT_CONFIG,
    ACK_HPO_JOB,
    ACK_MODEL,
    ACK_TRAINING_JOB,
    ACK_TRANSFORM_JOB,
    ALL_KINDS,
    LEGACY_BATCH_TRANSFORM_JOB,
    LEGACY_HOSTING_DEPLOYMENT,
    LEGACY_HPO_JOB,
    LEGACY_MODEL,
    LEGACY_TRAINING_JOB,
    ResourceKind,
)
from sagemaker_k8s.manifests.status import Phase, StatusTable, Verdict, interpret, is_acknowledged

P = Phase
#: Kinds with a status field (ACK Model and EndpointConfig have only conditions).
FIELD_KINDS = [k for k in ALL_KINDS if k.status_table.field]


def cr(status: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "x", "kind": "y", "metadata": {"name": "n", **metadata}}
    if status is not None:
        obj["status"] = status
    return obj


def cond(ctype: str, status: str, message: str | None = None) -> dict[str, Any]:
    c = {"type": ctype, "status": status}
    if message is not None:
        c["message"] = message
    return c


@pytest.mark.parametrize(
    ("value", "phase"),
    [
        ("SynchronizingK8sJobWithSageMaker", P.RUNNING),
        ("InProgress", P.RUNNING),
        ("Stopping", P.RUNNING),
        ("ReconcilingTrainingJob", P.RECONCILING),
        ("Completed", P.SUCCEEDED),
        ("Failed", P.FAILED),
        ("Stopped", P.FAILED),
    ],
)
def test_legacy_training_job_values(value: str, phase: Phase) -> None:
    v = interpret(
        LEGACY_TRAINING_JOB,
        cr(
            {
                "trainingJobStatus": value,
                "secondaryStatus": "Training",
                "additional": "AlgorithmError: oops" if phase is P.FAILED else "",
            }
        ),
    )
    assert v.phase is phase
    assert v.status == value
    assert v.secondary == "Training"
    if phase is P.FAILED:
        assert v.reason == "AlgorithmError: oops"


@pytest.mark.parametrize(
    ("additional", "phase"),
    [
        ("Unable to initialize operator: Operation cannot be fulfilled on trainingjobs", P.RECONCILING),
        ("ClientError: Unable to initialize operator", P.FAILED),  # prefix only, not anywhere
        ("", P.FAILED),
        (None, P.FAILED),
    ],
)
def test_legacy_transient_initialisation_failure(additional: str | None, phase: Phase) -> None:
    v = interpret(LEGACY_TRAINING_JOB, cr({"trainingJobStatus": "Failed", "additional": additional}))
    assert v.phase is phase
    if phase is P.RECONCILING:
        assert v.note and "retries" in v.note


def test_reconciling_reason_is_additional() -> None:
    v = interpret(
        LEGACY_TRAINING_JOB,
        cr(
            {
                "trainingJobStatus": "ReconcilingTrainingJob",
                "additional": "Unable to create training job: ValidationException: role",
            }
        ),
    )
    assert (v.phase, v.reason) == (P.RECONCILING, "Unable to create training job: ValidationException: role")


@pytest.mark.parametrize(
    ("value", "phase"),
    [
        ("SynchronizingK8sJobWithSageMaker", P.RUNNING),
        ("Creating", P.RUNNING),
        ("Updating", P.RUNNING),
        ("SystemUpdating", P.RUNNING),
        ("RollingBack", P.RUNNING),
        ("ReconcilingEndpoint", P.RECONCILING),
        ("OutOfService", P.RECONCILING),
        ("InService", P.SUCCEEDED),
        ("Failed", P.FAILED),
        ("Deleting", P.FAILED),
        ("UpdateRollbackFailed", P.FAILED),
    ],
)
def test_legacy_hosting_deployment_values(value: str, phase: Phase) -> None:
    assert interpret(LEGACY_HOSTING_DEPLOYMENT, cr({"endpointStatus": value})).phase is phase


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ({"failureReason": "Model failed ping", "additional": "x"}, "Model failed ping"),
        ({"failureReason": "", "additional": "operator text"}, "operator text"),
        ({}, None),
    ],
)
def test_hosting_failure_reason_order(status: dict[str, str], reason: str | None) -> None:
    v = interpret(LEGACY_HOSTING_DEPLOYMENT, cr({"endpointStatus": "Failed", **status}))
    assert (v.phase, v.reason) == (P.FAILED, reason)


@pytest.mark.parametrize(
    ("value", "phase"),
    [
        ("SynchronizingK8sJobWithSageMaker", P.RUNNING),
        ("InProgress", P.RUNNING),
        ("Stopping", P.RUNNING),
        ("ReconcilingTuningJob", P.RECONCILING),
        ("Completed", P.SUCCEEDED),
        ("Failed", P.FAILED),
        ("Stopped", P.FAILED),
    ],
)
def test_legacy_hpo_values(value: str, phase: Phase) -> None:
    assert interpret(LEGACY_HPO_JOB, cr({"hyperParameterTuningJobStatus": value})).phase is phase


@pytest.mark.parametrize(
    ("value", "additional", "phase"),
    [
        ("InProgress", "", P.RUNNING),
        ("Completed", "", P.SUCCEEDED),
        ("Stopped", "", P.FAILED),
        ("Failed", "ThrottlingException: Rate exceeded\n\tstatus code: 400", P.RECONCILING),
        ("Failed", "ValidationException: bad model\n\tstatus code: 400", P.FAILED),
    ],
)
def test_legacy_batch_transform_values(value: str, additional: str, phase: Phase) -> None:
    v = interpret(LEGACY_BATCH_TRANSFORM_JOB, cr({"transformJobStatus": value, "additional": additional}))
    assert v.phase is phase


def test_batch_transform_failure_without_reason_explains_where_to_look() -> None:
    v = interpret(LEGACY_BATCH_TRANSFORM_JOB, cr({"transformJobStatus": "Failed"}))
    assert v.phase is P.FAILED
    assert v.reason and "describe-transform-job" in v.reason


@pytest.mark.parametrize(
    ("status", "phase", "reason"),
    [
        ({"status": "SynchronizingK8sJobWithSageMaker"}, P.RUNNING, None),
        ({"status": "Created", "sageMakerModelName": "m-0123"}, P.SUCCEEDED, None),
        (
            {"status": "Error", "additional": "Unable to create SageMaker model: ValidationException: x"},
            P.RECONCILING,  # the controller retries an Error every 5 s; the wait bounds it
            "Unable to create SageMaker model: ValidationException: x",
        ),
        ({"status": "Error"}, P.RECONCILING, None),
        ({"status": "Deleted"}, P.FAILED, "the SageMaker object was deleted"),
    ],
)
def test_legacy_model_values(status: dict[str, str], phase: Phase, reason: str | None) -> None:
    v = interpret(LEGACY_MODEL, cr(status))
    assert (v.phase, v.reason) == (phase, reason)


@pytest.mark.parametrize(
    ("status", "phase", "reason"),
    [
        ({"trainingJobStatus": "InProgress", "secondaryStatus": "Downloading"}, P.RUNNING, None),
        (
            {"trainingJobStatus": "Completed", "conditions": [cond("ACK.ResourceSynced", "True")]},
            P.SUCCEEDED,
            None,
        ),
        (
            {"trainingJobStatus": "Failed", "failureReason": "AlgorithmError: x"},
            P.FAILED,
            "AlgorithmError: x",
        ),
        ({"trainingJobStatus": "Stopped"}, P.FAILED, "the job was stopped before it completed"),
        (
            {"conditions": [cond("ACK.Terminal", "True", "InvalidParameterValue: bad role")]},
            P.FAILED,
            "InvalidParameterValue: bad role",
        ),
        (
            {
                "trainingJobStatus": "Completed",
                "conditions": [cond("ACK.Terminal", "True", "only Warm Pool or Profiler can be updated")],
            },
            P.FAILED,
            "only Warm Pool or Profiler can be updated",
        ),
        (
            {"conditions": [cond("ACK.Recoverable", "True", "AccessDeniedException")]},
            P.RECONCILING,
            "AccessDeniedException",
        ),
        (
            {"trainingJobStatus": "InProgress", "conditions": [cond("ACK.Recoverable", "True", "throttled")]},
            P.RECONCILING,
            "throttled",
        ),
        (
            {
                "trainingJobStatus": "Failed",
                "failureReason": "r",
                "conditions": [cond("ACK.Recoverable", "True", "x")],
            },
            P.FAILED,
            "r",
        ),
        (
            {"conditions": [cond("ACK.Terminal", "False"), cond("ACK.ResourceSynced", "False")]},
            P.RUNNING,
            None,
        ),
        # Debugger/Profiler rules still evaluating: not synced, yet the job itself is Completed.
        (
            {
                "trainingJobStatus": "Completed",
                "conditions": [cond("ACK.ResourceSynced", "False", "TrainingJob is in InProgress status.")],
            },
            P.SUCCEEDED,
            None,
        ),
    ],
)
def test_ack_training_job(status: dict[str, Any], phase: Phase, reason: str | None) -> None:
    v = interpret(ACK_TRAINING_JOB, cr(status))
    assert (v.phase, v.reason) == (phase, reason)


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        ({"endpointStatus": "Creating"}, P.RUNNING),
        ({"endpointStatus": "InService"}, P.SUCCEEDED),
        (
            {
                "endpointStatus": "InService",
                "conditions": [cond("ACK.ResourceSynced", "False", "EndpointUpdateError")],
            },
            P.RECONCILING,
        ),
        (
            {
                "endpointStatus": "Failed",
                "failureReason": "ping failed",
                "conditions": [
                    cond("ACK.Terminal", "True", "Endpoint status reached terminal state: Failed.")
                ],
            },
            P.FAILED,
        ),
        ({"endpointStatus": "OutOfService"}, P.RECONCILING),
        ({"endpointStatus": "Deleting"}, P.FAILED),
    ],
)
def test_ack_endpoint(status: dict[str, Any], phase: Phase) -> None:
    assert interpret(ACK_ENDPOINT, cr(status)).phase is phase


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
def test_no_status_is_pending(kind: ResourceKind) -> None:
    assert interpret(kind, cr()) == Verdict(P.PENDING)
    assert interpret(kind, cr({})) == Verdict(P.PENDING)
    assert not is_acknowledged(cr())


@pytest.mark.parametrize("kind", FIELD_KINDS, ids=str)
def test_stopped_is_never_success(kind: ResourceKind) -> None:
    for value in ("Stopped", "Failed"):
        assert interpret(kind, cr({kind.status_table.field: value})).phase is not P.SUCCEEDED


@pytest.mark.parametrize("kind", FIELD_KINDS, ids=str)
@pytest.mark.parametrize(
    "value",
    [
        "Succeeded",
        "completed",
        "COMPLETED",
        "Completed ",
        "InService\n",
        "{{ 'Completed' }}",
        "Completed: true",
        '{"trainingJobStatus": "Completed"}',
        "Абв",
        "x" * 10_000,
    ],
)
def test_unknown_values_wait_and_never_succeed(kind: ResourceKind, value: str) -> None:
    v = interpret(kind, cr({kind.status_table.field: value}))
    assert v.phase is P.RUNNING
    assert v.note and "unrecognised" in v.note
    assert len(v.note) < 200


@pytest.mark.parametrize("value", [5, ["Completed"], {"a": 1}, True])
def test_non_string_status_values(value: Any) -> None:
    v = interpret(LEGACY_TRAINING_JOB, cr({"trainingJobStatus": value}))
    assert v.phase is P.RUNNING and v.status is None and v.note


@pytest.mark.parametrize("obj", [{}, {"status": "Completed"}, {"status": None}, {"status": []}, None, "x", 5])
def test_malformed_objects_are_pending(obj: Any) -> None:
    assert interpret(LEGACY_TRAINING_JOB, obj).phase is P.PENDING


def test_acknowledged_without_status_field() -> None:
    v = interpret(LEGACY_TRAINING_JOB, cr(finalizers=["sagemaker-operator-finalizer"]))
    assert v.phase is P.RUNNING
    v = interpret(ACK_TRAINING_JOB, cr({"ackResourceMetadata": {"region": "us-west-2"}}))
    assert v.phase is P.RUNNING


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (cr({"trainingJobStatus": "SynchronizingK8sJobWithSageMaker"}), True),
        (cr(finalizers=["sagemaker-operator-finalizer"]), True),
        (cr(finalizers=["finalizers.sagemaker.services.k8s.aws/TrainingJob"]), True),
        (cr(finalizers=["kubernetes.io/pvc-protection"]), False),
        (cr(finalizers="sagemaker-operator-finalizer"), False),
        (cr({}), False),
        ("not a dict", False),
    ],
)
def test_is_acknowledged(obj: Any, expected: bool) -> None:
    assert is_acknowledged(obj) is expected


@pytest.mark.parametrize(
    ("value", "phase"),
    [("InProgress", P.FAILED), ("Completed", P.SUCCEEDED), (None, P.FAILED), ("Failed", P.FAILED)],
)
def test_deletion_timestamp(value: str | None, phase: Phase) -> None:
    status = {"trainingJobStatus": value} if value else None
    v = interpret(LEGACY_TRAINING_JOB, cr(status, deletionTimestamp="2026-11-29T23:00:00Z"))
    assert v.phase is phase


def test_long_reasons_are_capped() -> None:
    v = interpret(LEGACY_TRAINING_JOB, cr({"trainingJobStatus": "Failed", "additional": "y" * 50_000}))
    assert v.reason is not None and len(v.reason) <= 4001


def test_hostile_reason_is_carried_verbatim() -> None:
    text = 'AlgorithmError: {{ dag_run.conf }}\nkind: Secret\n---\n{"a": 1}'
    v = interpret(LEGACY_TRAINING_JOB, cr({"trainingJobStatus": "Failed", "additional": text}))
    assert v.reason == text


def test_phase_is_final() -> None:
    assert {p for p in Phase if p.is_final} == {P.SUCCEEDED, P.FAILED}


def test_tables_refuse_overlapping_sets() -> None:
    with pytest.raises(ValueError, match="two sets"):
        StatusTable("x", frozenset({"A"}), frozenset(), frozenset({"A"}), frozenset())


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
def test_state_sets_are_frozensets(kind: ResourceKind) -> None:
    t = kind.status_table
    for s in (t.in_progress, t.reconciling, t.success, t.failure):
        assert isinstance(s, frozenset)
    assert "Stopped" not in t.success


@pytest.mark.parametrize(
    ("kind", "value"), [(LEGACY_HOSTING_DEPLOYMENT, "Deleting"), (ACK_ENDPOINT, "UpdateRollbackFailed")]
)
def test_failures_without_reason_get_a_default(kind: ResourceKind, value: str) -> None:
    v = interpret(kind, cr({kind.status_table.field: value}))
    assert v.phase is P.FAILED and v.reason


@pytest.mark.parametrize("kind", [ACK_HPO_JOB, ACK_TRANSFORM_JOB], ids=str)
@pytest.mark.parametrize(
    ("status", "phase", "reason"),
    [
        ({"conditions": [cond("ACK.ResourceSynced", "False")]}, P.RUNNING, None),
        ("InProgress", P.RUNNING, None),
        ("Stopping", P.RUNNING, None),
        ("Completed", P.SUCCEEDED, None),
        ("Failed", P.FAILED, "boom"),
        ("Stopped", P.FAILED, "boom"),
    ],
)
def test_ack_jobs(kind: ResourceKind, status: Any, phase: Phase, reason: str | None) -> None:
    if isinstance(status, str):
        status = {kind.status_table.field: status, "failureReason": "boom" if reason else ""}
    v = interpret(kind, cr(status))
    assert (v.phase, v.reason) == (phase, reason)


@pytest.mark.parametrize("kind", [ACK_MODEL, ACK_ENDPOINT_CONFIG], ids=str)
@pytest.mark.parametrize(
    ("status", "finalizers", "phase", "reason"),
    [
        (None, None, P.PENDING, None),
        (None, ["finalizers.sagemaker.services.k8s.aws/Model"], P.RUNNING, None),
        ({"conditions": [cond("ACK.ResourceSynced", "True")]}, None, P.SUCCEEDED, None),
        ({"conditions": [cond("ACK.ResourceSynced", "False", "creating")]}, None, P.RUNNING, "creating"),
        ({"conditions": [cond("ACK.Recoverable", "True", "throttled")]}, None, P.RECONCILING, "throttled"),
        (
            {
                "conditions": [
                    cond("ACK.Terminal", "True", "not implemented"),
                    cond("ACK.ResourceSynced", "True"),
                ]
            },
            None,
            P.FAILED,
            "not implemented",
        ),
    ],
)
def test_ack_conditions_only_kinds(
    kind: ResourceKind, status: Any, finalizers: Any, phase: Phase, reason: str | None
) -> None:
    obj = cr(status, **({"finalizers": finalizers} if finalizers else {}))
    v = interpret(kind, obj)
    assert (v.phase, v.reason) == (phase, reason)
