"""Which finished TrainingJob CRs retention deletes (pure)."""

from __future__ import annotations

import pytest

from sagemaker_k8s.promotion.retention import select_for_deletion


def job(name: str, day: int, status: str = "Completed", *, finalizers=(), deleting=False) -> dict:
    meta = {"name": name, "creationTimestamp": f"2026-11-{day:02d}T00:00:00Z", "finalizers": list(finalizers)}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    return {"metadata": meta, "status": {"trainingJobStatus": status}}


JOBS = [job(f"j{d}", d) for d in range(1, 8)]  # j7 newest


@pytest.mark.parametrize(
    ("keep", "protected", "expected"),
    [
        (10, (), []),
        (7, (), []),
        (3, (), ["j1", "j2", "j3", "j4"]),  # oldest first
        (3, ("j2",), ["j1", "j3", "j4"]),  # the champion's survives whatever its age
        (1, ("j2", "j4"), ["j1", "j3", "j5", "j6"]),
    ],
)
def test_keeps_the_newest_and_the_protected(keep, protected, expected):
    assert select_for_deletion(JOBS, keep=keep, protected=protected) == expected


def test_never_running_deleting_or_tuning_children():
    jobs = [
        job("running", 1, "InProgress"),
        job("reconciling", 1, "ReconcilingTrainingJob"),
        job("gone", 1, deleting=True),
        job(
            "hpo-child", 1, finalizers=["sagemaker-operator-finalizer", "sagemaker-operator-hpo-trainingjob"]
        ),
        job("failed", 2, "Failed"),
        job("new", 9),
    ]
    assert select_for_deletion(jobs, keep=1, protected=()) == ["failed"]


def test_tuning_children_do_not_count_towards_keep():
    jobs = [
        job("a", 1),
        *(job(f"c{i}", 5, finalizers=["sagemaker-operator-hpo-trainingjob"]) for i in range(5)),
    ]
    assert select_for_deletion(jobs, keep=1, protected=()) == []


def test_keep_must_be_positive():
    with pytest.raises(ValueError):
        select_for_deletion(JOBS, keep=0, protected=())
