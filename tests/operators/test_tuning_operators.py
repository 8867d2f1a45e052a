"""Tuning mode's tasks on fake hooks, on both flavours (legacy ``HyperparameterTuningJob``, ACK
``HyperParameterTuningJob``): submit (create, reattach, refusals, ACK adoption, on_kill) and the wait
(defer arguments, every ``execute_complete`` outcome, poke mode and its progress line, the challenger it
pushes -- the same dict on both flavours). Cleanup and retention: ``test_tuning_cleanup`` (no servers)."""

from __future__ import annotations

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from sagemaker_k8s.exceptions import (
    ConfigError,
    OperatorNotReconcilingError,
    SpecMismatchError,
    TerminalStateError,
)
from sagemaker_k8s.manifests.ack import (
    ADOPTION_FIELDS_ANNOTATION,
    ADOPTION_POLICY_ANNOTATION,
    REGION_ANNOTATION,
)
from sagemaker_k8s.manifests.flavours import (
    ACK_HPO_JOB,
    LEGACY_HPO_JOB,
)
from sagemaker_k8s.manifests.naming import resource_name
from sagemaker_k8s.manifests.waiting import (
    DELETED,
    ERROR,
    FAILED,
    NOT_ACKNOWLEDGED,
    RECONCILING_TIMEOUT,
    SUCCESS,
)
from sagemaker_k8s.operators.tuning import SageMakerK8sTuningOperator
from sagemaker_k8s.sensors.tuning import SageMakerK8sTuningSensor
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger
from tests.operators.fakes import DAG_ID, RUN_ID, FakeAws, FakeKube, FakeTI, config, context, wire

HPO = "hyperparametertuningjobs"  # the plural of both flavours' kinds
CR = resource_name(DAG_ID, RUN_ID, "submit_tuning")
TJ = resource_name(DAG_ID, RUN_ID, "submit_tuning", max_length=32)
BEST = f"{TJ}-002-89abcdef"
M = "validation:merror"
TUNED = {"alpha": "0.5", "eta": "0.31", "max_depth": "6", "min_child_weight": "2.5"}
COUNTERS = {"completed": 4, "in_progress": 0, "retryable_error": 0, "non_retryable_error": 0, "stopped": 0,
            "total_error": 0}  # fmt: skip
CHALLENGER_KEYS = {"name", "namespace", "job_name", "model_path", "metrics"}  # the training sensor's
FLAVOURS = ("legacy", "ack")
ARN_PREFIX = "arn:aws:sagemaker:us-west-2:123456789012"
KIND = {"legacy": LEGACY_HPO_JOB, "ack": ACK_HPO_JOB}


def submit(kube: FakeKube, flavour: str = "legacy", aws: FakeAws | None = None, **params):
    op = SageMakerK8sTuningOperator(task_id="submit_tuning", config=config(flavour=flavour, **params))
    wire(op, kube, aws or FakeAws())
    ti = FakeTI()
    return op, op.execute(context(ti)), ti


# -- submit_tuning -----------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_submit_creates_the_cr_and_returns_its_names_and_bounds(flavour):
    kube = FakeKube()
    _, result, ti = submit(kube, flavour, tuning={"max_jobs": 5, "max_parallel": 2}, max_runtime_seconds=600)
    assert result == {
        "name": CR,
        "namespace": "default",
        "job_name": TJ,
        "region": "us-west-2",
        "max_runtime_seconds": 600 * 3,  # ceil(5 / 2) rounds of at most 600 s
        "s3_output_path": "s3://bucket/xgboost-mnist/output/",
        "objective": {"name": M, "type": "Minimize"},
        "reattached": False,
        "flavour": flavour,
    }
    assert len(TJ) <= 32
    ((verb, name, body),) = kube.writes
    assert (verb, name, body["apiVersion"], body["kind"]) == (
        "create", CR, KIND[flavour].api_version, KIND[flavour].kind,
    )  # fmt: skip
    assert body["spec"]["hyperParameterTuningJobName"] == TJ
    assert body["metadata"]["labels"]["airflow.apache.org/task-id"] == "submit_tuning"
    assert ti.xcoms[("self", "sagemaker_k8s_tuning_job")] == {
        "region_name": "us-west-2", "aws_domain": "aws.amazon.com", "job_name": TJ,
    }  # fmt: skip


def test_on_ack_the_cr_is_acks_with_the_region_annotation_and_acks_spelling():
    kube = FakeKube()
    submit(kube, "ack", tuning={"max_jobs": 5, "max_parallel": 2})
    ((_, _, body),) = kube.writes
    spec = body["spec"]
    assert body["metadata"]["annotations"][REGION_ANNOTATION] == "us-west-2" and "region" not in spec
    assert spec["hyperParameterTuningJobConfig"]["hyperParameterTuningJobObjective"] == {
        "type_": "Minimize", "metricName": M,
    }  # fmt: skip
    definition = spec["trainingJobDefinition"]
    assert definition["roleARN"].startswith("arn:aws:iam::") and isinstance(
        definition["staticHyperParameters"], dict
    )
    assert ADOPTION_POLICY_ANNOTATION not in body["metadata"]["annotations"]  # SageMaker had no such job


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_retry_reattaches_to_the_same_cr_and_tuning_job(flavour):
    kube = FakeKube()
    _, first, _ = submit(kube, flavour, tuning={})
    kube.objects[(HPO, "default", CR)]["status"] = {"hyperParameterTuningJobStatus": "InProgress"}
    _, second, _ = submit(kube, flavour, tuning={})
    assert second == {**first, "reattached": True}
    assert [w[0] for w in kube.writes] == ["create"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_cr_with_another_spec_is_refused(flavour):
    kube = FakeKube()
    submit(kube, flavour, tuning={"max_jobs": 4})
    with pytest.raises(SpecMismatchError, match="resourceLimits"):
        submit(kube, flavour, tuning={"max_jobs": 6})
    assert [w[0] for w in kube.writes] == ["create"]


def test_on_ack_a_cr_gone_while_its_tuning_job_exists_adopts_the_job():
    kube = FakeKube()
    _, first, _ = submit(kube, "ack", tuning={})
    kube.objects.clear()  # someone deleted the CR; SageMaker keeps the tuning job
    _, second, _ = submit(kube, "ack", aws=FakeAws(tunings={TJ: tuning_result()}), tuning={})
    assert second == first  # created again, the same names
    (_, (verb, name, body)) = kube.writes
    assert (verb, name) == ("create", CR)
    annotations = body["metadata"]["annotations"]
    assert annotations[ADOPTION_POLICY_ANNOTATION] == "adopt-or-create"
    assert annotations[ADOPTION_FIELDS_ANNOTATION] == f'{{"hyperParameterTuningJobName":"{TJ}"}}'


def test_a_run_without_tuning_fails_before_any_request():
    kube = FakeKube()
    with pytest.raises(ConfigError, match="no tuning param") as info:
        submit(kube)
    assert info.value.param == "tuning" and kube.writes == []


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_submit_on_kill_deletes_the_cr_it_submitted_and_nothing_before(flavour):
    kube = FakeKube()
    op = SageMakerK8sTuningOperator(task_id="submit_tuning", config=config(flavour=flavour, tuning={}))
    wire(op, kube, FakeAws())
    op.on_kill()
    assert kube.writes == []
    op.execute(context())
    assert op.kind is KIND[flavour]
    op.on_kill()
    assert kube.writes[-1] == ("delete", CR, None) and not kube.objects


# -- wait_tuning -------------------------------------------------------------------------------------
def hpo_status(state: str = "Completed", best: str | None = BEST, flavour: str = "legacy", **extra) -> dict:
    """The tuning CR's status as each controller writes it: legacy with its counters and the name it
    tracks, ACK with conditions (no counters) and the objective's value in ``bestTrainingJob``."""
    if flavour == "ack":
        synced = "False" if state in ("InProgress", "Stopping") else "True"
        status = {
            "hyperParameterTuningJobStatus": state,
            "ackResourceMetadata": {"arn": f"{ARN_PREFIX}:hyper-parameter-tuning-job/{TJ}",
                                    "ownerAccountID": "123456789012", "region": "us-west-2"},
            "conditions": [{"type": "ACK.ResourceSynced", "status": synced}],
            **extra,
        }  # fmt: skip
        metric = {"metricName": M, "type_": "Minimize", "value": 0.125}
        extra_best = {"tunedHyperParameters": TUNED, "trainingJobStatus": "Completed"}
    else:
        status = {
            "hyperParameterTuningJobStatus": state,
            "sageMakerHyperParameterTuningJobName": TJ,
            "trainingJobStatusCounters": {"completed": 4, "inProgress": 0, "totalError": 0, "stopped": 0},
            **extra,
        }
        metric = {"metricName": M, "type": "Minimize"}  # the operator's copy has no value
        extra_best = {}
    if best:
        status["bestTrainingJob"] = {
            "trainingJobName": best,
            "finalHyperParameterTuningJobObjectiveMetric": metric,
            **extra_best,
        }
    return status


def tuning_result(best: str | None = BEST, value: float | None = 0.125, counters: dict | None = None) -> dict:
    return {
        "name": TJ, "status": "Completed", "failure_reason": None, "best_training_job": best,
        "objective": {"name": M, "type": "Minimize", "value": value if best else None},
        "hyperparameters": TUNED if best else {}, "counters": counters or COUNTERS,
    }  # fmt: skip


def waiting(status: dict | None = None, aws: FakeAws | None = None, flavour: str = "legacy", **kwargs):
    """A submitted tuning CR (with ``status``) and the sensor waiting for it."""
    kube = FakeKube()
    _, submitted, _ = submit(kube, flavour, tuning={})
    if status is not None:
        kube.objects[(HPO, "default", CR)]["status"] = status
    aws = aws or FakeAws(tunings={TJ: tuning_result()}, metrics={BEST: {M: 0.125, "train:merror": 0.05}})
    sensor = wire(SageMakerK8sTuningSensor(task_id="wait_tuning", tuning=submitted, **kwargs), kube, aws)
    return sensor, kube, submitted


def event(status: str, flavour: str = "legacy", **extra) -> dict:
    return {"status": status, "message": f"{status}: details", "name": CR, "namespace": "default",
            "kind": KIND[flavour].kind, **extra}  # fmt: skip


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_unfinished_tuning_job_defers_to_the_resource_trigger(flavour):
    sensor, _, submitted = waiting(
        hpo_status("InProgress", best=None, flavour=flavour),
        flavour=flavour,
        poke_interval=7.0,
        timeout_slack=60.0,
    )
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(context())
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout.total_seconds() == submitted["max_runtime_seconds"] + 60.0
    trigger = deferred.trigger
    assert type(trigger) is SageMakerK8sResourceTrigger
    classpath, kwargs = trigger.serialize()
    assert classpath == "sagemaker_k8s.triggers.resource.SageMakerK8sResourceTrigger"
    assert kwargs == {
        "api_version": KIND[flavour].api_version, "kind": KIND[flavour].kind, "name": CR,
        "namespace": "default", "kubernetes_conn_id": "kubernetes_default", "poll_interval": 7.0,
        "ack_timeout": 120.0, "reconciling_timeout": 600.0, "delete_on_kill": True,
    }  # fmt: skip


CHALLENGER = {
    "name": BEST,  # legacy: the child TrainingJob CR the controller creates, named like the SageMaker job
    "namespace": "default",
    "job_name": BEST,
    "model_path": f"s3://bucket/xgboost-mnist/output/{BEST}/output/model.tar.gz",
    "metrics": {M: 0.125, "train:merror": 0.05},
    "tuning": {
        "name": CR, "job_name": TJ, "objective": {"name": M, "type": "Minimize", "value": 0.125},
        "hyperparameters": TUNED, "counters": COUNTERS, "best_training_job": BEST,
    },
}  # fmt: skip


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_success_pushes_the_best_job_as_the_challenger_the_same_on_both_flavours(flavour):
    sensor, _, _ = waiting(flavour=flavour)
    result = sensor.execute_complete(
        context(), event(SUCCESS, flavour, object_status=hpo_status(flavour=flavour))
    )
    assert set(result) == CHALLENGER_KEYS | {"tuning"}
    assert result == CHALLENGER


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("output", ["s3://bucket/xgboost-mnist/output", "s3://bucket/xgboost-mnist/output/"])
def test_the_model_uri_has_one_slash_whatever_the_output_path(flavour, output):
    sensor, _, submitted = waiting(flavour=flavour)
    sensor.tuning = {**submitted, "s3_output_path": output}
    result = sensor.execute_complete(
        context(), event(SUCCESS, flavour, object_status=hpo_status(flavour=flavour))
    )
    assert result["model_path"] == CHALLENGER["model_path"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_tuning_job_already_completed_needs_no_deferral(flavour):
    sensor, _, _ = waiting(hpo_status(flavour=flavour), flavour=flavour)
    assert sensor.execute(context()) == CHALLENGER


def test_an_old_submit_xcom_without_flavour_is_legacy():
    sensor, _, submitted = waiting(hpo_status())
    sensor.tuning = {k: v for k, v in submitted.items() if k != "flavour"}
    assert sensor.kind is LEGACY_HPO_JOB
    assert sensor.execute(context()) == CHALLENGER


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_objective_value_falls_back_to_the_best_jobs_final_metrics(flavour):
    aws = FakeAws(tunings={TJ: tuning_result(value=None)}, metrics={BEST: {M: 0.2}})
    sensor, _, _ = waiting(aws=aws, flavour=flavour)
    done = event(SUCCESS, flavour, object_status=hpo_status(flavour=flavour))
    assert sensor.execute_complete(context(), done)["tuning"]["objective"]["value"] == 0.2
    aws.metrics = {BEST: {"train:merror": 0.1}}
    with pytest.raises(AirflowFailException, match="no value for the objective metric 'validation:merror'"):
        sensor.execute_complete(context(), done)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_completed_without_a_best_job_fails_clearly(flavour):
    sensor, _, _ = waiting(aws=FakeAws(tunings={TJ: tuning_result(best=None)}), flavour=flavour)
    with pytest.raises(AirflowFailException, match="has no best training job") as info:
        sensor.execute_complete(
            context(), event(SUCCESS, flavour, object_status=hpo_status(best=None, flavour=flavour))
        )
    assert "validation:merror" in str(info.value)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    ("outcome", "error", "fails_for_good"),
    [
        (FAILED, TerminalStateError, True),
        (DELETED, AirflowFailException, True),
        (NOT_ACKNOWLEDGED, OperatorNotReconcilingError, True),
        (RECONCILING_TIMEOUT, TerminalStateError, True),
        (ERROR, AirflowException, False),
    ],
)
def test_unsuccessful_outcomes(outcome, error, fails_for_good, flavour):
    sensor, _, _ = waiting(flavour=flavour)
    reason = "No training job succeeded after 2 attempts."
    with pytest.raises(error) as info:
        sensor.execute_complete(context(), event(outcome, flavour, resource_status="Failed", reason=reason))
    assert isinstance(info.value, AirflowFailException) is fails_for_good
    assert str(info.value) == f"{outcome}: details"
    if error is TerminalStateError:
        assert (info.value.status, info.value.reason) == ("Failed", reason)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    "bad",
    [None, event("finished"), event(SUCCESS, kind="TrainingJob"), event(SUCCESS, name="other"),
     "other-flavour"],
)  # fmt: skip
def test_foreign_or_malformed_events_are_refused(bad, flavour):
    sensor, _, _ = waiting(flavour=flavour)
    if bad == "other-flavour":  # the other controller's kind of the same name
        bad = event(SUCCESS, "legacy" if flavour == "ack" else "ack", object_status=hpo_status())
    with pytest.raises(AirflowException) as info:
        sensor.execute_complete(context(), bad)
    assert type(info.value) is AirflowException


def test_poke_mode_logs_progress_and_finishes(capsys):
    sensor, kube, _ = waiting(hpo_status("InProgress", best=None), deferrable=False)
    capsys.readouterr()
    assert sensor.poke(context()) is False
    progress = (
        "InProgress; training jobs: 4 completed, 0 in progress, 0 errors, 0 stopped; best so far: none yet"
    )
    assert f"HyperparameterTuningJob default/{CR}: {progress}" in capsys.readouterr().out  # the task log
    kube.objects[(HPO, "default", CR)]["status"] = hpo_status()
    done = sensor.poke(context())
    assert isinstance(done, PokeReturnValue) and done.is_done
    assert done.xcom_value["job_name"] == BEST


def test_on_ack_poke_mode_reads_the_counters_from_sagemaker(capsys):
    running = {**COUNTERS, "completed": 1, "in_progress": 2, "non_retryable_error": 1, "total_error": 1}
    aws = FakeAws(metrics={BEST: {M: 0.125, "train:merror": 0.05}})  # no tuning job in SageMaker yet
    sensor, kube, _ = waiting(
        hpo_status("InProgress", best=None, flavour="ack"), aws, "ack", deferrable=False
    )
    capsys.readouterr()
    assert sensor.poke(context()) is False
    line = f"HyperParameterTuningJob default/{CR}: InProgress; no training jobs yet; best so far: none yet"
    assert line in capsys.readouterr().out
    aws.tunings[TJ] = tuning_result(counters=running)
    kube.objects[(HPO, "default", CR)]["status"] = hpo_status("InProgress", flavour="ack")
    assert sensor.poke(context()) is False
    progress = (
        f"InProgress; training jobs: 1 completed, 2 in progress, 1 errors, 0 stopped; best so far: {BEST}"
    )
    assert f"HyperParameterTuningJob default/{CR}: {progress}" in capsys.readouterr().out
    aws.tunings[TJ] = tuning_result()
    kube.objects[(HPO, "default", CR)]["status"] = hpo_status(flavour="ack")
    done = sensor.poke(context())
    assert isinstance(done, PokeReturnValue) and done.xcom_value == CHALLENGER


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_poke_mode_fails_on_a_failed_tuning_job_with_its_reason(flavour):
    reason = "No training job succeeded after 2 attempts. Please take a look at the training job failures"
    field = "failureReason" if flavour == "ack" else "additional"
    status = hpo_status("Failed", best=None, flavour=flavour, **{field: reason})
    sensor, _, _ = waiting(status, flavour=flavour, deferrable=False)
    with pytest.raises(TerminalStateError, match="No training job succeeded") as info:
        sensor.poke(context())
    assert info.value.reason == reason


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_deleted_cr_fails_the_wait(flavour):
    sensor, kube, _ = waiting(hpo_status("InProgress", flavour=flavour), flavour=flavour)
    kube.objects.clear()
    with pytest.raises(AirflowFailException, match="was deleted while waiting"):
        sensor.poke(context())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_sensor_on_kill_deletes_the_cr(flavour):
    sensor, kube, _ = waiting(hpo_status("InProgress", flavour=flavour), flavour=flavour)
    assert sensor.kind is KIND[flavour]
    sensor.on_kill()
    assert kube.writes[-1] == ("delete", CR, None) and not kube.objects
