"""`SageMakerK8sResourceTrigger`: serialization, and `run()` against the sandbox's API server and
operator emulator, one outcome per test. Each run must yield exactly one event and then end."""

from __future__ import annotations

import asyncio
import importlib

import pytest

from sagemaker_k8s.manifests.build import TrainingJobSpec, build_training_job
from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.waiting import DELETED, FAILED, NOT_ACKNOWLEDGED, RECONCILING_TIMEOUT, SUCCESS
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger
from tests.helpers import aws, wait_for

TJ = LEGACY_TRAINING_JOB
FAULT_ANNOTATION = "sandbox.sagemaker.local/fault"


def training_job(sandbox, name: str, *, prefix: str = "xgboost", fault: str | None = None) -> dict:
    info = sandbox.info
    spec = TrainingJobSpec(
        cr_name=name,
        namespace=info.namespace,
        job_name=name,
        region=info.region,
        role_arn=info.execution_role_arn,
        image=xgboost_image(info.region),
        bucket=info.bucket,
        prefix=prefix,
        instance_type="ml.m4.xlarge",
        instance_count=1,
        volume_size_gb=5,
        max_runtime_seconds=3600,
        hyperparameters={"num_round": 2},
        annotations={FAULT_ANNOTATION: fault} if fault else {},
    )
    return build_training_job(load_template("trainingjob.yaml"), spec)


def trigger_for(sandbox, name: str, **timeouts) -> SageMakerK8sResourceTrigger:
    return SageMakerK8sResourceTrigger(
        api_version=TJ.api_version,
        kind=TJ.kind,
        name=name,
        namespace=sandbox.info.namespace,
        poll_interval=0.1,
        **timeouts,
    )


async def collect(trigger: SageMakerK8sResourceTrigger, timeout: float = 60.0) -> list[dict]:
    """Every event ``run()`` yields until it returns (bounded by ``timeout``)."""

    async def drain() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(drain(), timeout)


def run_to_end(trigger: SageMakerK8sResourceTrigger, timeout: float = 60.0) -> dict:
    events = asyncio.run(collect(trigger, timeout))
    assert len(events) == 1, events
    (event,) = events
    assert (event["name"], event["namespace"], event["kind"]) == (
        trigger.name,
        trigger.namespace,
        "TrainingJob",
    )
    return event


# -- serialization -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_version": TJ.api_version, "kind": TJ.kind, "name": "tj", "namespace": "default"},
        {
            "api_version": LEGACY_HOSTING_DEPLOYMENT.api_version,
            "kind": LEGACY_HOSTING_DEPLOYMENT.kind,
            "name": "endpoint-1",
            "namespace": "ml",
            "kubernetes_conn_id": "k8s_other",
            "poll_interval": 2.5,
            "ack_timeout": 30.0,
            "reconciling_timeout": 90.0,
            "delete_on_kill": True,
        },
    ],
)
def test_serialize_round_trips(kwargs):
    trigger = SageMakerK8sResourceTrigger(**kwargs)
    classpath, serialized = trigger.serialize()
    assert classpath == "sagemaker_k8s.triggers.resource.SageMakerK8sResourceTrigger"
    assert {k: serialized[k] for k in kwargs} == kwargs
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**serialized)
    assert type(rebuilt) is SageMakerK8sResourceTrigger
    assert rebuilt.serialize() == (classpath, serialized)
    assert vars(rebuilt) == vars(trigger)


# -- run() against the sandbox -----------------------------------------------------------------------


def test_completed_training_yields_success(sandbox, sandbox_env, upload_sample):
    upload_sample("trigger")
    sandbox.kube.apply(training_job(sandbox, "trigger-ok", prefix="trigger"))
    event = run_to_end(trigger_for(sandbox, "trigger-ok"))
    assert event["status"] == SUCCESS, event
    status = event["object_status"]
    assert status["trainingJobStatus"] == "Completed"
    assert status["modelPath"].endswith("/trigger-ok/output/model.tar.gz")
    assert status["sageMakerTrainingJobName"] == "trigger-ok"


def test_failed_training_yields_failed_with_the_reason(sandbox, sandbox_env, upload_sample):
    upload_sample("trigger")
    body = training_job(sandbox, "trigger-fail", prefix="trigger", fault="fail:AlgorithmError: boom")
    sandbox.kube.apply(body)
    event = run_to_end(trigger_for(sandbox, "trigger-fail"))
    assert event["status"] == FAILED, event
    assert event["resource_status"] == "Failed"
    assert event["reason"] == "AlgorithmError: boom"
    assert "AlgorithmError: boom" in event["message"]
    assert event["object_status"]["additional"] == "AlgorithmError: boom"


def test_deleted_while_waiting_yields_deleted(sandbox, sandbox_env):
    # With the operator down the CR carries no finalizer, so a delete removes it at once. (With the
    # operator up, the trigger sees metadata.deletionTimestamp first, which `manifests.status` rules
    # a failure: "the custom resource is being deleted".)
    sandbox.misconfigure("operator-not-running")
    sandbox.kube.apply(training_job(sandbox, "trigger-gone"))
    trigger = trigger_for(sandbox, "trigger-gone")
    item = f"/{TJ.plural}/trigger-gone"

    def polled() -> bool:
        return any(
            r.method == "GET" and r.path.endswith(item) and r.status == 200 for r in sandbox.kube.requests
        )

    async def scenario() -> list[dict]:
        waiting = asyncio.create_task(collect(trigger))
        await asyncio.to_thread(wait_for, polled, 30, 0.02, "the trigger's first poll")
        assert not waiting.done(), "the trigger must still be waiting"
        await asyncio.to_thread(
            sandbox.kube.delete, TJ.api_version, TJ.plural, "trigger-gone", sandbox.info.namespace
        )
        return await waiting

    (event,) = asyncio.run(scenario())
    assert event["status"] == DELETED, event
    assert f"{sandbox.info.namespace}/trigger-gone was deleted" in event["message"]


@pytest.mark.parametrize("misconfiguration", ["operator-not-running", "operator-wrong-namespace"])
def test_unreconciled_resource_yields_not_acknowledged(sandbox, sandbox_env, misconfiguration):
    sandbox.misconfigure(misconfiguration)
    sandbox.kube.apply(training_job(sandbox, "trigger-ignored"))
    event = run_to_end(trigger_for(sandbox, "trigger-ignored", ack_timeout=1.0), timeout=30)
    assert event["status"] == NOT_ACKNOWLEDGED, event
    assert f"namespace {sandbox.info.namespace}" in event["message"]
    assert "operator is not reconciling" in event["message"]
    assert event["object_status"] == {}


def test_stuck_reconciling_yields_reconciling_timeout(sandbox, sandbox_env):
    sandbox.kube.apply(training_job(sandbox, "trigger-stuck", fault="reconcile-error:x"))
    event = run_to_end(trigger_for(sandbox, "trigger-stuck", reconciling_timeout=1.0), timeout=30)
    assert event["status"] == RECONCILING_TIMEOUT, event
    assert event["resource_status"] == "ReconcilingTrainingJob"
    assert "Unable to describe SageMaker training job: x" in event["message"]


# -- on_kill: a user marked the deferred task failed/success or cleared it -----------------------------


@pytest.mark.parametrize("delete_on_kill", [True, False])
def test_on_kill_deletes_the_resource_and_the_job_stops(sandbox, sandbox_env, upload_sample, delete_on_kill):

    upload_sample()
    name = f"trigger-killed-{str(delete_on_kill).lower()}"
    sandbox.kube.apply(training_job(sandbox, name, fault="hang"))
    sagemaker = aws(sandbox, "sagemaker")

    def job_status() -> str | None:
        try:
            return sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
        except sagemaker.exceptions.ClientError:
            return None

    wait_for(lambda: job_status() == "InProgress", 30, 0.1, "the job to be in progress")
    asyncio.run(trigger_for(sandbox, name, delete_on_kill=delete_on_kill).on_kill())
    if delete_on_kill:
        wait_for(
            lambda: sandbox.kube.get(TJ.api_version, TJ.plural, name, sandbox.info.namespace) is None, 30, 0.1
        )
        wait_for(lambda: job_status() == "Stopped", 30, 0.1, "the job to be stopped")
    else:
        assert sandbox.kube.get(TJ.api_version, TJ.plural, name, sandbox.info.namespace) is not None
        assert job_status() == "InProgress"


def test_on_kill_of_a_resource_already_gone_is_quiet(sandbox, sandbox_env):
    asyncio.run(trigger_for(sandbox, "never-created", delete_on_kill=True).on_kill())
