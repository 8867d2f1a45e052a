"""Which finished TrainingJob and HyperparameterTuningJob CRs retention deletes (pure)."""

from __future__ import annotations

import pytest

from sagemaker_k8s.promotion.retention import holds, select_for_deletion, select_tuning_for_deletion


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


# -- tuning CRs ------------------------------------------------------------------------------------


def tuning(
    name: str, day: int, status: str = "Completed", *, best: str | None = None, deleting=False
) -> dict:
    """A tuning CR as the controller leaves it; its SageMaker tuning job is ``<name>-tj``."""
    meta = {"name": name, "creationTimestamp": f"2026-11-{day:02d}T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    obj = {
        "metadata": meta,
        "spec": {"hyperParameterTuningJobName": f"{name}-tj"},
        "status": {
            "hyperParameterTuningJobStatus": status,
            "sageMakerHyperParameterTuningJobName": f"{name}-tj",
        },
    }
    if best:
        obj["status"]["bestTrainingJob"] = {"trainingJobName": best}
    return obj


TUNINGS = [tuning(f"h{d}", d, best=f"h{d}-tj-001-0123abcd") for d in range(1, 6)]  # h5 newest


@pytest.mark.parametrize(
    ("keep", "protected", "expected"),
    [
        (5, (), []),
        (2, (), ["h1", "h2", "h3"]),  # oldest first
        (2, ("h2-tj-001-0123abcd",), ["h1", "h3"]),  # the champion is h2's best job (record.training_job)
        (2, ("h1-tj-004-89abcdef",), ["h2", "h3"]),  # any child of h1's tuning job (not its best)
        (2, ("h3-tj",), ["h1", "h2"]),  # record.tuning_job
        (2, ("h1",), ["h2", "h3"]),  # the CR's own name
        (1, ("h1-tj-001-0123abcd", "h3-tj-001-0123abcd"), ["h2", "h4"]),  # champion and previous champion
    ],
)
def test_tuning_keeps_the_newest_and_the_champions(keep, protected, expected):
    assert select_tuning_for_deletion(TUNINGS, keep=keep, protected=protected) == expected


def test_tuning_never_running_reconciling_or_deleting():
    tunings = [
        tuning("running", 1, "InProgress"),
        tuning("stopping", 1, "Stopping"),
        tuning("reconciling", 1, "ReconcilingTuningJob"),
        tuning("gone", 1, deleting=True),
        {"metadata": {"name": "no-status", "creationTimestamp": "2026-11-01T00:00:00Z"}},
        tuning("failed", 2, "Failed"),
        tuning("stopped", 2, "Stopped"),
        tuning("new", 9),
    ]
    assert select_tuning_for_deletion(tunings, keep=1, protected=()) == ["failed", "stopped"]


def test_holds_reads_the_status_when_the_spec_has_no_name():
    obj = tuning("h", 1)
    del obj["spec"]["hyperParameterTuningJobName"]
    assert holds(obj, ["h-tj-002-0123abcd"])
    assert not holds(obj, ["h-t", "other-tj-001-0123abcd", "h"])  # the CR's own name is checked by the caller
    assert not holds({"metadata": {"name": "x"}}, ["x-1"])


def test_tuning_keep_must_be_positive():
    with pytest.raises(ValueError):
        select_tuning_for_deletion(TUNINGS, keep=0, protected=())


@pytest.mark.parametrize(
    ("status", "deletable"),
    [
        ({"trainingJobStatus": "Completed"}, True),
        ({"trainingJobStatus": "InProgress"}, False),
        # ACK: a job whose spec the controller refused is over; one it still retries is not.
        ({"conditions": [{"type": "ACK.Terminal", "status": "True", "message": "already exists"}]}, True),
        ({"conditions": [{"type": "ACK.Recoverable", "status": "True", "message": "throttled"}]}, False),
    ],
)
def test_ack_training_jobs_are_judged_by_the_ack_table(status, deletable):
    from sagemaker_k8s.manifests.flavours import ACK_TRAINING_JOB

    old = job("old", 1)
    old["status"] = status
    doomed = select_for_deletion([job("new", 2), old], keep=1, protected=(), kind=ACK_TRAINING_JOB)
    assert doomed == (["old"] if deletable else [])
