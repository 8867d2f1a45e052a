"""``submit_training`` on fake hooks, on both flavours: the CR it creates, what it returns, the console
links it persists, reattaching on a retry, ACK adoption of a job whose CR is gone, and ``on_kill``."""

from __future__ import annotations

import pytest

from sagemaker_k8s.manifests.ack import ADOPTION_FIELDS_ANNOTATION, ADOPTION_POLICY_ANNOTATION
from sagemaker_k8s.manifests.flavours import ACK_TRAINING_JOB, LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.naming import resource_name
from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
from tests.operators.fakes import DAG_ID, RUN_ID, FakeAws, FakeKube, FakeTI, config, context, wire

CR = resource_name(DAG_ID, RUN_ID, "submit_training")
KIND = {"legacy": LEGACY_TRAINING_JOB, "ack": ACK_TRAINING_JOB}
FLAVOURS = ("legacy", "ack")


def submit(kube: FakeKube, flavour: str = "legacy", aws: FakeAws | None = None, **params):
    op = SageMakerK8sTrainingOperator(task_id="submit_training", config=config(flavour=flavour, **params))
    wire(op, kube, aws or FakeAws())
    ti = FakeTI()
    return op, op.execute(context(ti)), ti


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_submit_creates_the_cr_returns_its_names_and_persists_both_links(flavour):
    kube = FakeKube()
    _, result, ti = submit(kube, flavour, max_runtime_seconds=900)
    assert result == {
        "name": CR,
        "namespace": "default",
        "job_name": CR,
        "region": "us-west-2",
        "max_runtime_seconds": 900,
        "reattached": False,
        "flavour": flavour,
    }
    ((verb, name, body),) = kube.writes
    assert (verb, name, body["apiVersion"], body["kind"]) == (
        "create", CR, KIND[flavour].api_version, KIND[flavour].kind,
    )  # fmt: skip
    assert body["spec"]["trainingJobName"] == CR
    values = {"region_name": "us-west-2", "aws_domain": "aws.amazon.com", "job_name": CR}
    assert ti.xcoms[("self", "sagemaker_k8s_training_job")] == values
    assert ti.xcoms[("self", "sagemaker_k8s_training_logs")] == values


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_retry_reattaches_without_a_second_create(flavour):
    kube = FakeKube()
    _, first, _ = submit(kube, flavour)
    _, second, _ = submit(kube, flavour)
    assert second == {**first, "reattached": True}
    assert [verb for verb, _, _ in kube.writes] == ["create"]


def test_on_ack_a_cr_gone_while_its_training_job_exists_adopts_the_job():
    kube = FakeKube()
    submit(kube, "ack")
    kube.objects.clear()  # someone deleted the CR; SageMaker keeps the training job
    _, second, _ = submit(kube, "ack", aws=FakeAws(training_jobs={CR}))
    assert second["reattached"] is False  # created again, adopting the job
    (_, (verb, name, body)) = kube.writes
    assert (verb, name) == ("create", CR)
    annotations = body["metadata"]["annotations"]
    assert annotations[ADOPTION_POLICY_ANNOTATION] == "adopt-or-create"
    assert annotations[ADOPTION_FIELDS_ANNOTATION] == f'{{"trainingJobName":"{CR}"}}'


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_on_kill_deletes_the_cr_it_submitted_and_nothing_before(flavour):
    kube = FakeKube()
    op = SageMakerK8sTrainingOperator(task_id="submit_training", config=config(flavour=flavour))
    wire(op, kube, FakeAws())
    op.on_kill()
    assert kube.writes == []
    op.execute(context())
    assert op.kind is KIND[flavour]
    op.on_kill()
    assert kube.writes[-1] == ("delete", CR, None) and not kube.objects
