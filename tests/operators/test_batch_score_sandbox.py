"""Batch scoring against the sandbox's real servers, one sandbox per flavour for the module: the dataset
task uploads the bundled sample, a TrainingJob CR trains a model in the simulator, and the batch-score
operator runs through its real triggers (legacy: Model ``Created``, BatchTransformJob ``Completed``;
ACK: Model ``ACK.ResourceSynced``, TransformJob ``Completed``) to an accuracy computed from the
transform's ``.out`` objects; a failing transform surfaces SageMaker's FailureReason. Also the AWS
hook's ``list_keys`` (paged) and ``transform_job``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from sagemaker_k8s.config.run_config import RunConfig, resolve_run_config
from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook
from sagemaker_k8s.manifests.flavours import kind_of
from sagemaker_k8s.operators.batch import SageMakerK8sBatchScoreOperator
from sagemaker_k8s.operators.dataset import SageMakerK8sDatasetUploadOperator
from sagemaker_k8s.operators.submit import submit_or_reattach
from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
from sandbox.stack import Sandbox
from tests.helpers import aws as boto
from tests.helpers import wait_for
from tests.operators.fakes import FakeTI, context

PARAMS = {"dataset_source": "sample:mnist-5k", "hyperparameters": {"max_depth": 4, "num_round": 4}}


@pytest.fixture(scope="module", params=["legacy", "ack"])
def sandbox(request, tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox per flavour for this module (overrides the per-test one), its env applied to this
    process."""
    state_dir = tmp_path_factory.mktemp(f"batch-{request.param}") / "sandbox"
    with (
        Sandbox(state_dir, flavour=request.param, phase_delay=0.05, poll_interval=0.1) as sb,
        pytest.MonkeyPatch.context() as mp,
    ):
        for key, value in sb.env().items():
            mp.setenv(key, value)
        yield sb


@pytest.fixture(scope="module")
def config(sandbox) -> dict:
    variables = {
        "sagemaker_k8s_region": sandbox.info.region,
        "sagemaker_k8s_bucket": sandbox.info.bucket,
        "sagemaker_k8s_execution_role_arn": sandbox.info.execution_role_arn,
    }
    params = {**PARAMS, "flavour": sandbox.flavour}
    return resolve_run_config(params, variables=variables, connection_region=None).to_dict()


@pytest.fixture(scope="module")
def dataset(config) -> dict:
    return SageMakerK8sDatasetUploadOperator(task_id="upload_dataset", config=config).execute(context())


@pytest.fixture(scope="module")
def challenger(sandbox, config, dataset) -> dict:
    """A model trained in the simulator through the pipeline's TrainingJob CR (its wait's XCom shape)."""
    operator = SageMakerK8sTrainingOperator(task_id="submit_training", config=config)
    body = operator.build(RunConfig.from_dict(config), "batch_dag", "manual__2026-12-06T00:00:00+00:00")
    kind = kind_of("training", sandbox.flavour)
    submit_or_reattach(operator.hook, kind, body)
    name = body["metadata"]["name"]

    def finished():
        status = (
            sandbox.kube.get(kind.api_version, kind.plural, name, namespace="default").get("status") or {}
        )
        return status if status.get("trainingJobStatus") in ("Completed", "Failed") else None

    status = wait_for(finished, timeout=60, what=f"TrainingJob {name}")
    assert status["trainingJobStatus"] == "Completed", status
    model_path = status.get("modelPath") or status["modelArtifacts"]["s3ModelArtifacts"]  # legacy, ACK
    return {"name": name, "namespace": "default", "job_name": body["spec"]["trainingJobName"],
            "model_path": model_path, "metrics": {}}  # fmt: skip


def run(operator: SageMakerK8sBatchScoreOperator, ctx: dict):
    """Execute like the task runner: every deferral waits on its real trigger, then resumes."""
    step = partial(operator.execute, ctx)
    methods = []
    while True:
        try:
            return step(), methods
        except TaskDeferred as deferred:
            methods.append(deferred.method_name)
            event = asyncio.run(asyncio.wait_for(anext(deferred.trigger.run()), 60)).payload
            step = partial(
                getattr(operator, deferred.method_name), ctx, event=event, **(deferred.kwargs or {})
            )


def crs(sandbox, role: str) -> list[str]:
    """The names of this flavour's CRs playing ``role`` (``model``, ``transform``)."""
    kind = kind_of(role, sandbox.flavour)
    return [o["metadata"]["name"] for o in sandbox.kube.list_objects(kind.api_version, kind.plural)]


def batch_score(config: dict, dataset: dict, task_id: str) -> SageMakerK8sBatchScoreOperator:
    return SageMakerK8sBatchScoreOperator(
        task_id=task_id, config=config, dataset=dataset, poll_interval=0.1,
        training_task_ids=["wait_training", "wait_tuning"],
    )  # fmt: skip


def test_batch_score_on_the_test_split(sandbox, config, dataset, challenger):
    ti = FakeTI({("wait_tuning", "return_value"): challenger})  # the tuning branch ran
    operator = batch_score(config, dataset, "batch_score")
    result, methods = run(operator, context(ti))
    assert methods == ["model_ready", "transform_done"]
    assert result["accuracy"] >= 0.8 and result["rows"] == 750  # the sample's test split
    assert result["correct"] == round(result["accuracy"] * 750)
    assert result["training_job"] == challenger["job_name"]
    assert result["output"] == f"s3://{sandbox.info.bucket}/xgboost-mnist/batch/{result['transform_job']}/"
    sm = boto(sandbox, "sagemaker")
    described = sm.describe_transform_job(TransformJobName=result["transform_job"])
    assert (described["TransformJobStatus"], described["ModelName"]) == ("Completed", result["model"])
    if sandbox.flavour == "ack":  # ACK names the SageMaker model after the Model CR
        assert result["model"] == operator.names(context(ti))[0]
    # both CRs deleted: the Model controller deletes the SageMaker model, SageMaker keeps the job's record
    wait_for(lambda: crs(sandbox, "model") == [] and crs(sandbox, "transform") == [], timeout=30,
             what="the Model and transform job CRs deleted")  # fmt: skip
    assert sm.list_models(NameContains=result["model"])["Models"] == []
    # cleared after success: the CRs are gone, the completed job is scored again without a new one
    again, methods = run(batch_score(config, dataset, "batch_score"), context(ti))
    assert (again, methods) == (result, [])


def test_a_failing_transform_surfaces_sagemakers_reason(sandbox, config, dataset, challenger):
    operator = batch_score(config, dataset, "batch_score_broken")
    ctx = context(FakeTI({("wait_training", "return_value"): challenger}))
    _, job, _ = operator.names(ctx)
    kind = kind_of("transform", sandbox.flavour)
    sandbox.arm_fault("fail:ClientError: injected bad record on line 3", kind=kind.kind, name=job)
    try:
        with pytest.raises(AirflowFailException, match=rf"batch transform {job} ended Failed: ClientError: "
                           rf"injected bad record on line 3\. {kind.kind} default/.* kept"):  # fmt: skip
            run(operator, ctx)
    finally:
        sandbox.clear_faults()
    assert crs(sandbox, "transform") == [job]  # kept for inspection
    wait_for(lambda: crs(sandbox, "model") == [], timeout=30, what="the Model CR deleted")
    sandbox.kube.delete(kind.api_version, kind.plural, job, namespace="default")


def test_hook_list_keys_pages_and_transform_job(sandbox, dataset):
    hook, bucket = SageMakerK8sAwsHook(), sandbox.info.bucket
    s3 = boto(sandbox, "s3")
    keys = [f"pages/k{i:02d}" for i in (3, 1, 10, 2, 0)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_object(Bucket=bucket, Key="pagesX/other", Body=b"x")
    assert hook.list_keys(bucket, "pages/", page_size=2) == sorted(keys)
    assert hook.list_keys(bucket, "nothing-here/") == []
    assert hook.transform_job("no-such-transform-job") is None
