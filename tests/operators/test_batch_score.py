"""Batch scoring on fake hooks: skipped when off, the two deferrals and their triggers, every
resumed step's outcome, the CRs deleted (and kept), on_kill, and reattaching (no servers)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException, TaskDeferred

from operators.fakes import DAG_ID, RUN_ID, FakeAws, FakeKube, FakeTI, config, context, wire
from sagemaker_k8s.exceptions import SpecMismatchError, TerminalStateError
from sagemaker_k8s.manifests.flavours import LEGACY_BATCH_TRANSFORM_JOB, LEGACY_MODEL
from sagemaker_k8s.manifests.naming import resource_name
from sagemaker_k8s.operators.batch import SageMakerK8sBatchScoreOperator
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger
from sagemaker_k8s.waiting import DELETED, ERROR, FAILED, NOT_ACKNOWLEDGED, SUCCESS

MODEL_CR = resource_name(DAG_ID, RUN_ID, "batch_score", suffix="model")
JOB = resource_name(DAG_ID, RUN_ID, "batch_score")
SM_MODEL = f"{MODEL_CR[:30]}-0123456789abcdef0123456789abcdef"
NS = "default"
PREFIX = "xgboost-mnist"
OUT = f"{PREFIX}/batch/{JOB}/"
DATASET = {"test": f"s3://bucket/{PREFIX}/test/", "test_labels": f"s3://bucket/{PREFIX}/test-labels/labels"}
MODEL_PATH = f"s3://bucket/{PREFIX}/output/job-new/output/model.tar.gz"
CHALLENGER = {"name": "cr-new", "namespace": NS, "job_name": "job-new", "model_path": MODEL_PATH,
              "metrics": {"validation:merror": 0.1}}  # fmt: skip
RESULT = {
    "accuracy": 0.75, "rows": 4, "correct": 3, "output": f"s3://bucket/{OUT}", "transform_job": JOB,
    "model": SM_MODEL, "training_job": "job-new",
}  # fmt: skip


def s3(**extra: bytes) -> dict[str, bytes]:
    """The uploaded test split (two objects), its labels, and the transform's outputs for them."""
    return {
        f"{PREFIX}/test/examples-0": b"0,1\n0,2\n",
        f"{PREFIX}/test/examples-1": b"0,3\n0,4\n",
        f"{PREFIX}/test-labels/labels": b"7\n2\n1\n0\n",
        f"{OUT}examples-0.out": b"7.0\n2.0\n",
        f"{OUT}examples-1.out": b"3.0\n0.0\n",
        **extra,
    }


def operator(kube: FakeKube, aws: FakeAws, **params) -> SageMakerK8sBatchScoreOperator:
    op = SageMakerK8sBatchScoreOperator(
        task_id="batch_score", config=config(**params), dataset=DATASET, poll_interval=7.0
    )
    return wire(op, kube, aws)


def ctx(pushed_by: str = "wait_training") -> dict:
    return context(FakeTI({(pushed_by, "return_value"): CHALLENGER}))


def deferral(call) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as e:
        call()
    return e.value


def event(kind, name: str, status: str, **extra) -> dict:
    return {"status": status, "message": f"{kind.kind} {status}", "name": name, "namespace": NS,
            "kind": kind.kind, **extra}  # fmt: skip


def model_created() -> dict:
    status = {"status": "Created", "sageMakerModelName": SM_MODEL}
    return event(LEGACY_MODEL, MODEL_CR, SUCCESS, object_status=status)


def transform_ended(status: str = SUCCESS, **extra) -> dict:
    return event(LEGACY_BATCH_TRANSFORM_JOB, JOB, status, **extra)


def after_model(kube: FakeKube, aws: FakeAws) -> SageMakerK8sBatchScoreOperator:
    """The operator with both CRs created, as when the transform's trigger fires."""
    op = operator(kube, aws)
    deferral(lambda: op.execute(ctx()))
    deferral(lambda: op.model_ready(ctx(), event=model_created()))
    kube.writes.clear()
    return op


def test_skipped_when_batch_scoring_is_off():
    kube = FakeKube()
    with pytest.raises(AirflowSkipException, match="batch_scoring is false"):
        operator(kube, FakeAws(), batch_scoring=False).execute(context(FakeTI()))  # no challenger needed
    assert kube.writes == []


@pytest.mark.parametrize("pushed_by", ["wait_training", "wait_tuning"])
def test_creates_the_model_for_the_challenger_and_defers_on_it(pushed_by):
    kube = FakeKube()
    deferred = deferral(lambda: operator(kube, FakeAws()).execute(ctx(pushed_by)))
    ((verb, name, body),) = kube.writes
    assert (verb, name, body["kind"]) == ("create", MODEL_CR, "Model")
    assert body["spec"]["primaryContainer"]["modelDataUrl"] == MODEL_PATH
    assert body["metadata"]["labels"]["airflow.apache.org/task-id"] == "batch_score"
    assert (deferred.method_name, deferred.kwargs) == ("model_ready", None)  # dags test drops kwargs
    assert deferred.timeout.total_seconds() == 1800
    trigger = deferred.trigger
    assert isinstance(trigger, SageMakerK8sResourceTrigger)
    assert (trigger.kind, trigger.name, trigger.namespace) == ("Model", MODEL_CR, NS)
    assert (trigger.poll_interval, trigger.delete_on_kill) == (7.0, True)


def test_without_a_trained_model_it_fails():
    with pytest.raises(AirflowFailException, match="no trained model in this run"):
        operator(FakeKube(), FakeAws()).execute(context(FakeTI()))


def test_model_created_starts_the_transform_with_its_sagemaker_name():
    kube = FakeKube()
    op = operator(kube, FakeAws())
    deferral(lambda: op.execute(ctx()))
    deferred = deferral(lambda: op.model_ready(ctx(), event=model_created()))
    (_, (verb, name, body)) = kube.writes
    assert (verb, name, body["kind"]) == ("create", JOB, "BatchTransformJob")
    spec = body["spec"]
    assert (spec["modelName"], spec["transformJobName"]) == (SM_MODEL, JOB)
    assert spec["transformInput"]["dataSource"]["s3DataSource"]["s3Uri"] == DATASET["test"]
    assert spec["transformOutput"]["s3OutputPath"] == f"s3://bucket/{OUT}"
    assert deferred.method_name == "transform_done"
    assert deferred.kwargs is None  # each step reads its inputs again
    assert deferred.timeout.total_seconds() == 6 * 3600
    assert (deferred.trigger.kind, deferred.trigger.name, deferred.trigger.delete_on_kill) == (
        "BatchTransformJob", JOB, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "extra", "error"),
    [
        (
            FAILED,
            {"resource_status": "Error", "reason": "ValidationException: bad image"},
            TerminalStateError,
        ),
        (NOT_ACKNOWLEDGED, {}, AirflowFailException),
        (DELETED, {}, AirflowFailException),
    ],
)
def test_a_model_that_fails_is_deleted(outcome, extra, error):
    kube = FakeKube()
    op = operator(kube, FakeAws())
    deferral(lambda: op.execute(ctx()))
    with pytest.raises(error):
        op.model_ready(ctx(), event=event(LEGACY_MODEL, MODEL_CR, outcome, **extra))
    assert kube.writes[-1] == ("delete", MODEL_CR, None) and kube.objects == {}


def test_a_created_model_without_its_sagemaker_name_is_refused():
    kube = FakeKube()
    op = operator(kube, FakeAws())
    deferral(lambda: op.execute(ctx()))
    created = event(LEGACY_MODEL, MODEL_CR, SUCCESS, object_status={"status": "Created"})
    with pytest.raises(AirflowFailException, match="without sageMakerModelName"):
        op.model_ready(ctx(), event=created)
    assert kube.objects == {}


def test_a_kubernetes_error_while_waiting_for_the_model_is_retried_with_the_model_kept():
    kube = FakeKube()
    op = operator(kube, FakeAws())
    deferral(lambda: op.execute(ctx()))
    with pytest.raises(AirflowException) as e:
        op.model_ready(ctx(), event=event(LEGACY_MODEL, MODEL_CR, ERROR))
    assert not isinstance(e.value, AirflowFailException)
    assert list(kube.objects) == [("models", NS, MODEL_CR)]


def test_completed_transform_is_scored_and_both_crs_deleted():
    kube, aws = FakeKube(), FakeAws(objects=s3())
    op = after_model(kube, aws)
    aws.transforms[JOB] = {"status": "Completed", "failure_reason": None, "model_name": SM_MODEL}
    result = op.transform_done(ctx(), event=transform_ended())
    assert result == RESULT
    assert kube.writes == [("delete", MODEL_CR, None), ("delete", JOB, None)] and kube.objects == {}


def test_failed_transform_names_sagemakers_reason_and_keeps_the_transform_cr():
    kube, aws = FakeKube(), FakeAws()
    op = after_model(kube, aws)
    aws.transforms[JOB] = {
        "status": "Failed",
        "failure_reason": "ClientError: bad row 3",
        "model_name": SM_MODEL,
    }
    failed = transform_ended(FAILED, resource_status="Failed", reason=None)
    with pytest.raises(
        AirflowFailException, match=r"ended Failed: ClientError: bad row 3\. BatchTransformJob"
    ):
        op.transform_done(ctx(), event=failed)
    assert kube.writes == [("delete", MODEL_CR, None)]
    assert list(kube.objects) == [("batchtransformjobs", NS, JOB)]


def test_a_rejected_transform_has_only_the_operators_reason():
    kube = FakeKube()
    op = after_model(kube, FakeAws())  # CreateTransformJob was rejected: SageMaker has no such job
    failed = transform_ended(FAILED, message="BatchTransformJob ended Failed: ValidationException: no model")
    with pytest.raises(
        AirflowFailException, match=r"ValidationException: no model\. BatchTransformJob .* kept"
    ):
        op.transform_done(ctx(), event=failed)
    assert list(kube.objects) == [("batchtransformjobs", NS, JOB)]


def test_a_kubernetes_error_while_waiting_for_the_transform_keeps_both():
    kube = FakeKube()
    op = after_model(kube, FakeAws())
    with pytest.raises(AirflowException) as e:
        op.transform_done(ctx(), event=transform_ended(ERROR))
    assert not isinstance(e.value, AirflowFailException)
    assert kube.writes == [] and len(kube.objects) == 2


@pytest.mark.parametrize(
    ("objects", "match"),
    [
        (
            s3(**{f"{PREFIX}/test/examples-2": b"0,5\n"}),
            r"wrote no s3://bucket/.*examples-2.out for its input",
        ),
        (s3(**{f"{OUT}examples-1.out": b"3.0\n"}), r"3 predictions \(.*examples-1.out: 1\) but .* 4 labels"),
        ({k: v for k, v in s3().items() if "/test/" not in k}, "no input objects under"),
    ],
)
def test_unusable_output_fails_and_keeps_the_transform_cr(objects, match):
    kube = FakeKube()
    op = after_model(kube, FakeAws(objects=objects))
    with pytest.raises(AirflowFailException, match=match):
        op.transform_done(ctx(), event=transform_ended())
    assert list(kube.objects) == [("batchtransformjobs", NS, JOB)]


@pytest.mark.parametrize("step", ["model", "transform"])
def test_on_kill_deletes_both_crs(step):
    kube = FakeKube()
    op = after_model(kube, FakeAws()) if step == "transform" else operator(kube, FakeAws())
    if step == "model":
        deferral(lambda: op.execute(ctx()))
        kube.writes.clear()
    op.on_kill()
    assert kube.writes == [("delete", JOB, None), ("delete", MODEL_CR, None)] and kube.objects == {}


def test_on_kill_before_execute_does_nothing():
    kube = FakeKube()
    operator(kube, FakeAws()).on_kill()
    assert kube.writes == []


def test_a_retry_reattaches_to_the_model():
    kube = FakeKube()
    deferral(lambda: operator(kube, FakeAws()).execute(ctx()))
    deferred = deferral(lambda: operator(kube, FakeAws()).execute(ctx()))  # the next try
    assert [w[0] for w in kube.writes] == ["create"]
    assert deferred.method_name == "model_ready" and deferred.trigger.name == MODEL_CR


def test_a_retry_after_the_model_step_waits_for_the_transform_again():
    kube = FakeKube()
    after_model(kube, FakeAws())
    deferred = deferral(lambda: operator(kube, FakeAws()).execute(ctx()))
    assert kube.writes == []
    assert (deferred.method_name, deferred.trigger.name) == ("transform_done", JOB)
    assert deferred.kwargs is None  # each step reads its inputs again


def test_a_model_cr_with_another_spec_is_not_reattached():
    kube = FakeKube()
    deferral(lambda: operator(kube, FakeAws()).execute(ctx()))
    kube.objects[("models", NS, MODEL_CR)]["spec"]["primaryContainer"]["modelDataUrl"] = "s3://bucket/other"
    with pytest.raises(SpecMismatchError, match="modelDataUrl"):
        operator(kube, FakeAws()).execute(ctx())


def test_cleared_after_success_scores_the_completed_transform_again():
    kube = FakeKube()
    aws = FakeAws(objects=s3(), transforms={JOB: {"status": "Completed", "failure_reason": None,
                                                  "model_name": SM_MODEL}})  # fmt: skip
    assert operator(kube, aws).execute(ctx()) == RESULT
    assert kube.writes == []


def test_cleared_after_a_failure_whose_cr_was_deleted_cannot_reuse_the_name():
    aws = FakeAws(transforms={JOB: {"status": "Stopped", "failure_reason": None, "model_name": SM_MODEL}})
    with pytest.raises(AirflowFailException, match=r"is Stopped .* trigger a new run"):
        operator(FakeKube(), aws).execute(ctx())
