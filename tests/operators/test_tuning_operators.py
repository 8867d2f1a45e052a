"""Tuning mode's tasks on fake hooks: submit (create, reattach, refusals, on_kill), the wait (defer
arguments, every ``execute_complete`` outcome, poke mode, the challenger it pushes), cleanup of an
unwatched tuning CR, and retention of tuning CRs (no servers)."""

from __future__ import annotations

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException, TaskDeferred

from operators.fakes import DAG_ID, RUN_ID, FakeAws, FakeKube, FakeTI, config, context, wire
from operators.test_promotion_operators import serving_cr  # the serving CR carrying the champion records
from sagemaker_k8s.exceptions import (
    ConfigError,
    KubeNotFound,
    OperatorNotReconcilingError,
    SpecMismatchError,
    TerminalStateError,
)
from sagemaker_k8s.manifests.flavours import LEGACY_HPO_JOB
from sagemaker_k8s.manifests.naming import resource_name
from sagemaker_k8s.operators.cleanup import SageMakerK8sCleanupOperator
from sagemaker_k8s.operators.retention import SageMakerK8sRetentionOperator
from sagemaker_k8s.operators.tuning import SageMakerK8sTuningOperator
from sagemaker_k8s.promotion.record import CHAMPION, PREVIOUS_CHAMPION, ModelRecord
from sagemaker_k8s.sensors.tuning import SageMakerK8sTuningSensor
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger
from sagemaker_k8s.waiting import DELETED, ERROR, FAILED, NOT_ACKNOWLEDGED, RECONCILING_TIMEOUT, SUCCESS

HPO = "hyperparametertuningjobs"
CR = resource_name(DAG_ID, RUN_ID, "submit_tuning")
TJ = resource_name(DAG_ID, RUN_ID, "submit_tuning", max_length=32)
BEST = f"{TJ}-002-89abcdef"
M = "validation:merror"
TUNED = {"alpha": "0.5", "eta": "0.31", "max_depth": "6", "min_child_weight": "2.5"}
COUNTERS = {"completed": 4, "in_progress": 0, "retryable_error": 0, "non_retryable_error": 0, "stopped": 0,
            "total_error": 0}  # fmt: skip
CHALLENGER_KEYS = {"name", "namespace", "job_name", "model_path", "metrics"}  # the training sensor's


def submit(kube: FakeKube, **params):
    op = wire(SageMakerK8sTuningOperator(task_id="submit_tuning", config=config(**params)), kube, FakeAws())
    ti = FakeTI()
    return op, op.execute(context(ti)), ti


# -- submit_tuning -----------------------------------------------------------------------------------
def test_submit_creates_the_cr_and_returns_its_names_and_bounds():
    kube = FakeKube()
    _, result, ti = submit(kube, tuning={"max_jobs": 5, "max_parallel": 2}, max_runtime_seconds=600)
    assert result == {
        "name": CR,
        "namespace": "default",
        "job_name": TJ,
        "region": "us-west-2",
        "max_runtime_seconds": 600 * 3,  # ceil(5 / 2) rounds of at most 600 s
        "s3_output_path": "s3://bucket/xgboost-mnist/output/",
        "objective": {"name": M, "type": "Minimize"},
        "reattached": False,
    }
    assert len(TJ) <= 32
    ((verb, name, body),) = kube.writes
    assert (verb, name, body["kind"]) == ("create", CR, "HyperparameterTuningJob")
    assert body["spec"]["hyperParameterTuningJobName"] == TJ
    assert body["metadata"]["labels"]["airflow.apache.org/task-id"] == "submit_tuning"
    assert ti.xcoms[("self", "sagemaker_k8s_tuning_job")] == {
        "region_name": "us-west-2", "aws_domain": "aws.amazon.com", "job_name": TJ,
    }  # fmt: skip


def test_a_retry_reattaches_to_the_same_cr_and_tuning_job():
    kube = FakeKube()
    _, first, _ = submit(kube, tuning={})
    kube.objects[(HPO, "default", CR)]["status"] = {"hyperParameterTuningJobStatus": "InProgress"}
    _, second, _ = submit(kube, tuning={})
    assert second == {**first, "reattached": True}
    assert [w[0] for w in kube.writes] == ["create"]


def test_a_cr_with_another_spec_is_refused():
    kube = FakeKube()
    submit(kube, tuning={"max_jobs": 4})
    with pytest.raises(SpecMismatchError, match="resourceLimits"):
        submit(kube, tuning={"max_jobs": 6})
    assert [w[0] for w in kube.writes] == ["create"]


def test_a_run_without_tuning_fails_before_any_request():
    kube = FakeKube()
    with pytest.raises(ConfigError, match="no tuning param") as info:
        submit(kube)
    assert info.value.param == "tuning" and kube.writes == []


def test_submit_on_kill_deletes_the_cr_it_submitted_and_nothing_before():
    kube = FakeKube()
    op = wire(SageMakerK8sTuningOperator(task_id="submit_tuning", config=config(tuning={})), kube, FakeAws())
    op.on_kill()
    assert kube.writes == []
    op.execute(context())
    op.on_kill()
    assert kube.writes[-1] == ("delete", CR, None) and not kube.objects


# -- wait_tuning -------------------------------------------------------------------------------------
def hpo_status(state: str = "Completed", best: str | None = BEST, **extra) -> dict:
    status = {
        "hyperParameterTuningJobStatus": state,
        "sageMakerHyperParameterTuningJobName": TJ,
        "trainingJobStatusCounters": {"completed": 4, "inProgress": 0, "totalError": 0, "stopped": 0},
        **extra,
    }
    if best:
        status["bestTrainingJob"] = {
            "trainingJobName": best,
            "finalHyperParameterTuningJobObjectiveMetric": {"metricName": M, "type": "Minimize"},
        }
    return status


def tuning_result(best: str | None = BEST, value: float | None = 0.125) -> dict:
    return {
        "name": TJ, "status": "Completed", "failure_reason": None, "best_training_job": best,
        "objective": {"name": M, "type": "Minimize", "value": value if best else None},
        "hyperparameters": TUNED if best else {}, "counters": COUNTERS,
    }  # fmt: skip


def waiting(status: dict | None = None, aws: FakeAws | None = None, **kwargs):
    """A submitted tuning CR (with ``status``) and the sensor waiting for it."""
    kube = FakeKube()
    _, submitted, _ = submit(kube, tuning={})
    if status is not None:
        kube.objects[(HPO, "default", CR)]["status"] = status
    aws = aws or FakeAws(tunings={TJ: tuning_result()}, metrics={BEST: {M: 0.125, "train:merror": 0.05}})
    sensor = wire(SageMakerK8sTuningSensor(task_id="wait_tuning", tuning=submitted, **kwargs), kube, aws)
    return sensor, kube, submitted


def event(status: str, **extra) -> dict:
    return {"status": status, "message": f"{status}: details", "name": CR, "namespace": "default",
            "kind": "HyperparameterTuningJob", **extra}  # fmt: skip


def test_an_unfinished_tuning_job_defers_to_the_resource_trigger():
    sensor, _, submitted = waiting(hpo_status("InProgress", best=None), poke_interval=7.0, timeout_slack=60.0)
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
        "api_version": "sagemaker.aws.amazon.com/v1", "kind": "HyperparameterTuningJob", "name": CR,
        "namespace": "default", "kubernetes_conn_id": "kubernetes_default", "poll_interval": 7.0,
        "ack_timeout": 120.0, "reconciling_timeout": 600.0, "delete_on_kill": True,
    }  # fmt: skip


def test_success_pushes_the_best_job_as_the_challenger():
    sensor, _, _ = waiting()
    result = sensor.execute_complete(context(), event(SUCCESS, object_status=hpo_status()))
    assert set(result) == CHALLENGER_KEYS | {"tuning"}
    assert result == {
        "name": BEST,  # the child TrainingJob CR the controller creates, named like the SageMaker job
        "namespace": "default",
        "job_name": BEST,
        "model_path": f"s3://bucket/xgboost-mnist/output/{BEST}/output/model.tar.gz",
        "metrics": {M: 0.125, "train:merror": 0.05},
        "tuning": {
            "name": CR, "job_name": TJ, "objective": {"name": M, "type": "Minimize", "value": 0.125},
            "hyperparameters": TUNED, "counters": COUNTERS, "best_training_job": BEST,
        },
    }  # fmt: skip


def test_a_tuning_job_already_completed_needs_no_deferral():
    sensor, _, _ = waiting(hpo_status())
    assert sensor.execute(context())["job_name"] == BEST


def test_the_objective_value_falls_back_to_the_best_jobs_final_metrics():
    aws = FakeAws(tunings={TJ: tuning_result(value=None)}, metrics={BEST: {M: 0.2}})
    sensor, _, _ = waiting(aws=aws)
    result = sensor.execute_complete(context(), event(SUCCESS, object_status=hpo_status()))
    assert result["tuning"]["objective"]["value"] == 0.2
    aws.metrics = {BEST: {"train:merror": 0.1}}
    with pytest.raises(AirflowFailException, match="no value for the objective metric 'validation:merror'"):
        sensor.execute_complete(context(), event(SUCCESS, object_status=hpo_status()))


def test_completed_without_a_best_job_fails_clearly():
    sensor, _, _ = waiting(aws=FakeAws(tunings={TJ: tuning_result(best=None)}))
    with pytest.raises(AirflowFailException, match="has no best training job") as info:
        sensor.execute_complete(context(), event(SUCCESS, object_status=hpo_status(best=None)))
    assert "validation:merror" in str(info.value)


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
def test_unsuccessful_outcomes(outcome, error, fails_for_good):
    sensor, _, _ = waiting()
    reason = "No training job succeeded after 2 attempts."
    with pytest.raises(error) as info:
        sensor.execute_complete(context(), event(outcome, resource_status="Failed", reason=reason))
    assert isinstance(info.value, AirflowFailException) is fails_for_good
    assert str(info.value) == f"{outcome}: details"
    if error is TerminalStateError:
        assert (info.value.status, info.value.reason) == ("Failed", reason)


@pytest.mark.parametrize(
    "bad",
    [None, event("finished"), event(SUCCESS, kind="TrainingJob"), event(SUCCESS, name="other")],
)
def test_foreign_or_malformed_events_are_refused(bad):
    sensor, _, _ = waiting()
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


def test_poke_mode_fails_on_a_failed_tuning_job_with_its_reason():
    reason = "No training job succeeded after 2 attempts. Please take a look at the training job failures"
    sensor, _, _ = waiting(hpo_status("Failed", best=None, additional=reason), deferrable=False)
    with pytest.raises(TerminalStateError, match="No training job succeeded") as info:
        sensor.poke(context())
    assert info.value.reason == reason


def test_a_deleted_cr_fails_the_wait():
    sensor, kube, _ = waiting(hpo_status("InProgress"))
    kube.objects.clear()
    with pytest.raises(AirflowFailException, match="was deleted while waiting"):
        sensor.poke(context())


def test_sensor_on_kill_deletes_the_cr():
    sensor, kube, _ = waiting(hpo_status("InProgress"))
    sensor.on_kill()
    assert kube.writes[-1] == ("delete", CR, None) and not kube.objects


# -- cleanup_tuning ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "wait_state", "deleted"),
    [("InProgress", "failed", True), ("InProgress", "success", False), ("Completed", "failed", False),
     ("Failed", "upstream_failed", False), ("ReconcilingTuningJob", "failed", True)],
)  # fmt: skip
def test_cleanup_deletes_an_unwatched_running_tuning_cr(state, wait_state, deleted):
    kube = FakeKube()
    _, submitted, _ = submit(kube, tuning={})
    kube.objects[(HPO, "default", CR)]["status"] = hpo_status(state, best=None)
    op = SageMakerK8sCleanupOperator(task_id="cleanup_tuning", submit_task_id="submit_tuning",
                                     wait_task_id="wait_tuning", kind_name="LEGACY_HPO_JOB")  # fmt: skip
    op.hook = kube
    ti = FakeTI({("submit_tuning", "return_value"): submitted}, {"wait_tuning": wait_state})
    result = op.execute(context(ti))
    assert result["deleted"] is deleted and ((HPO, "default", CR) in kube.objects) is not deleted
    if deleted:
        assert result["reason"].startswith(f"wait_tuning ended {wait_state} while HyperparameterTuningJob")


def test_cleanup_kinds():
    assert SageMakerK8sCleanupOperator(task_id="c").kind.plural == "trainingjobs"
    assert SageMakerK8sCleanupOperator(task_id="c", kind_name="LEGACY_HPO_JOB").kind is LEGACY_HPO_JOB
    op = SageMakerK8sCleanupOperator(task_id="c", submit_task_id="submit_tuning", kind_name="LEGACY_HPO_JOB")
    with pytest.raises(AirflowSkipException):
        op.execute(context(FakeTI()))  # the training branch ran: no tuning CR


# -- retention ---------------------------------------------------------------------------------------
def tuning_cr(name: str, day: int, state: str = "Completed") -> dict:
    labels = {"airflow.apache.org/dag-id": DAG_ID, "airflow.apache.org/task-id": "submit_tuning"}
    meta = {"name": name, "namespace": "default", "labels": labels,
            "creationTimestamp": f"2026-11-{day:02d}T00:00:00Z"}  # fmt: skip
    job = f"{name}-tj"
    status = {"hyperParameterTuningJobStatus": state, "sageMakerHyperParameterTuningJobName": job,
              "bestTrainingJob": {"trainingJobName": f"{job}-001-0123abcd"}}  # fmt: skip
    return {"metadata": meta, "spec": {"hyperParameterTuningJobName": job}, "status": status}


def retention(kube: FakeKube, **kwargs):
    champion = ModelRecord(
        "h2-tj-001-0123abcd", "h2-tj-001-0123abcd", "s3://b/m", M, 0.1, "r", tuning_job="h2-tj"
    )
    previous = ModelRecord("h1-tj-004-89abcdef", "h1-tj-004-89abcdef", "s3://b/m", M, 0.2, "r")
    kube.put(
        "hostingdeployments",
        serving_cr({CHAMPION: champion.to_json(), PREVIOUS_CHAMPION: previous.to_json()}),
    )
    op = SageMakerK8sRetentionOperator(task_id="retain_training_jobs", config=config(keep_training_jobs=2),
                                       submit_task_id="submit_training", **kwargs)  # fmt: skip
    return wire(op, kube, FakeAws()).execute(context())


def test_retention_retires_old_finished_tuning_crs_but_never_a_champions_or_a_running_one():
    kube = FakeKube()
    states = ["Completed", "Completed", "Failed", "InProgress", "Completed", "Completed"]
    for day, state in enumerate(states, start=1):
        kube.put(HPO, tuning_cr(f"h{day}", day, state))
    other = tuning_cr("someone-elses", 1)
    other["metadata"]["labels"]["airflow.apache.org/dag-id"] = "other_dag"
    kube.put(HPO, other)
    result = retention(kube, tuning_submit_task_id="submit_tuning")
    # newest two kept (h6, h5); h4 running; h2 the champion's; h1 holds the previous champion's child
    assert result["deleted_tuning"] == ["h3"] and result["kept_tuning"] == 5
    assert result["deleted"] == []
    assert {n for (p, _, n) in kube.objects if p == HPO} == {"h1", "h2", "h4", "h5", "h6", "someone-elses"}


def test_retention_without_tuning_task_leaves_tuning_crs_alone():
    kube = FakeKube()
    for day in range(1, 5):
        kube.put(HPO, tuning_cr(f"old{day}", day))
    result = retention(kube)
    assert "deleted_tuning" not in result and len([k for k in kube.objects if k[0] == HPO]) == 4


def test_retention_on_a_cluster_without_the_tuning_crd():
    class NoTuningCrd(FakeKube):
        def list(self, kind, namespace, label_selector=""):
            if kind is LEGACY_HPO_JOB:
                raise KubeNotFound("the server could not find the requested resource", status=404)
            return super().list(kind, namespace, label_selector)

    result = retention(NoTuningCrd(), tuning_submit_task_id="submit_tuning")
    assert (result["deleted_tuning"], result["kept_tuning"]) == ([], 0)
