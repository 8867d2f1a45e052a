"""What `SageMakerK8sResourceTrigger` logs while it waits (fake async hook, no servers): a tuning job's
progress at every poll, other kinds' status only when it changes; serialize() is unchanged."""

from __future__ import annotations

import asyncio

import pytest

from sagemaker_k8s.manifests.flavours import LEGACY_HPO_JOB, LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.waiting import SUCCESS
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger, progress_renderer

NOW = "2099-01-01T00:00:00Z"  # created "in the future": never past the ack timeout


def cr(status: dict | None) -> dict:
    obj = {"metadata": {"name": "x", "namespace": "ml", "creationTimestamp": NOW}}
    return {**obj, "status": status} if status is not None else obj


class FakeAsyncHook:
    """Returns the queued objects one poll at a time (the last one forever)."""

    queue: list[dict] = []

    def __init__(self, conn_id) -> None:
        pass

    async def get(self, kind, name, namespace):
        return FakeAsyncHook.queue.pop(0) if len(FakeAsyncHook.queue) > 1 else FakeAsyncHook.queue[0]


def run(kind, objects: list[dict], monkeypatch, capsys) -> tuple[list[dict], list[str]]:
    monkeypatch.setattr("sagemaker_k8s.hooks.kubernetes.AsyncSageMakerK8sHook", FakeAsyncHook)
    FakeAsyncHook.queue = list(objects)
    trigger = SageMakerK8sResourceTrigger(
        api_version=kind.api_version, kind=kind.kind, name="x", namespace="ml", poll_interval=0.001
    )

    async def drain():
        return [e.payload async for e in trigger.run()]

    capsys.readouterr()
    events = asyncio.run(asyncio.wait_for(drain(), 10))
    lines = [line for line in capsys.readouterr().out.splitlines() if f"{kind.kind} ml/x:" in line]
    return events, lines


def hpo(state: str, completed: int, in_progress: int, best: str | None = None) -> dict:
    status = {
        "hyperParameterTuningJobStatus": state,
        "trainingJobStatusCounters": {"completed": completed, "inProgress": in_progress},
    }
    if best:
        status["bestTrainingJob"] = {"trainingJobName": best}
    return cr(status)


def test_a_tuning_job_logs_its_progress_at_every_poll(monkeypatch, capsys):
    polls = [
        cr(None),
        hpo("InProgress", 0, 2),
        hpo("InProgress", 0, 2),  # same status and counters: logged again
        hpo("InProgress", 1, 2, best="t-001-a"),
        hpo("Completed", 4, 0, best="t-003-c"),
    ]
    events, lines = run(LEGACY_HPO_JOB, polls, monkeypatch, capsys)
    assert [e["status"] for e in events] == [SUCCESS]
    assert len(lines) == 4, lines
    assert "(no status yet); no training jobs yet; best so far: none yet" in lines[0]
    assert "InProgress; training jobs: 0 completed, 2 in progress, 0 errors, 0 stopped" in lines[1]
    assert lines[1].split("ml/x:")[1] == lines[2].split("ml/x:")[1]
    assert "1 completed, 2 in progress, 0 errors, 0 stopped; best so far: t-001-a" in lines[3]


def test_other_kinds_log_status_changes_only(monkeypatch, capsys):
    running = cr({"trainingJobStatus": "InProgress", "secondaryStatus": "Training"})
    polls = [running, running, running, cr({"trainingJobStatus": "Completed"})]
    events, lines = run(LEGACY_TRAINING_JOB, polls, monkeypatch, capsys)
    assert [e["status"] for e in events] == [SUCCESS]
    assert len(lines) == 1, lines
    assert "TrainingJob ml/x: InProgress " in lines[0]


@pytest.mark.parametrize(("kind", "has"), [(LEGACY_HPO_JOB, True), (LEGACY_TRAINING_JOB, False)])
def test_progress_renderer_by_kind(kind, has):
    assert (progress_renderer(kind) is not None) is has


def test_serialize_keeps_its_arguments():
    trigger = SageMakerK8sResourceTrigger(
        api_version=LEGACY_HPO_JOB.api_version, kind=LEGACY_HPO_JOB.kind, name="x", namespace="ml"
    )
    assert set(trigger.serialize()[1]) == {
        "api_version", "kind", "name", "namespace", "kubernetes_conn_id", "poll_interval", "ack_timeout",
        "reconciling_timeout", "delete_on_kill",
    }  # fmt: skip
