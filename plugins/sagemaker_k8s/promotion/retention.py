"""Which finished TrainingJob and HyperparameterTuningJob CRs of a pipeline to delete after a successful run.

Keep the newest ``keep`` of the pipeline's own training jobs and, whatever their age, the ones the
champion records name (the champion's and the previous champion's, for a rollback by hand). Never
touch a job still running, one being deleted, or a TrainingJob CR that a HyperparameterTuningJob
spawned (it carries the tuning controller's finalizer and goes with its tuning job). Deleting a
finished TrainingJob CR removes only the Kubernetes record: SageMaker keeps the job, S3 the model.

Tuning CRs likewise: the newest ``keep`` and every one whose training job a champion record names
stay, as do running ones. Deleting a finished tuning CR makes the controller delete its child
TrainingJob CRs too (so a champion's child CR goes with its tuning CR); SageMaker keeps every job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sagemaker_k8s.manifests.flavours import LEGACY_HPO_JOB, LEGACY_TRAINING_JOB, ResourceKind
from sagemaker_k8s.manifests.status import Phase, interpret

HPO_CHILD_FINALIZER = "sagemaker-operator-hpo-trainingjob"


def is_tuning_child(obj: Mapping[str, Any]) -> bool:
    return HPO_CHILD_FINALIZER in ((obj.get("metadata") or {}).get("finalizers") or [])


def is_finished(obj: Mapping[str, Any], kind: ResourceKind = LEGACY_TRAINING_JOB) -> bool:
    return interpret(kind, obj).phase in (Phase.SUCCEEDED, Phase.FAILED) and not (
        obj.get("metadata") or {}
    ).get("deletionTimestamp")


def _newest_first(objs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(
        objs,
        key=lambda o: ((o.get("metadata") or {}).get("creationTimestamp") or "", o["metadata"]["name"]),
        reverse=True,
    )


def select_for_deletion(
    jobs: Iterable[Mapping[str, Any]],
    *,
    keep: int,
    protected: Iterable[str],
    kind: ResourceKind = LEGACY_TRAINING_JOB,
) -> list[str]:
    """Names of the CRs to delete, oldest first. ``jobs``: the pipeline's TrainingJob CRs of ``kind``."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    keep_names = set(protected)
    newest_first = _newest_first(j for j in jobs if not is_tuning_child(j))
    doomed = [
        j["metadata"]["name"]
        for j in newest_first[keep:]
        if j["metadata"]["name"] not in keep_names and is_finished(j, kind)
    ]
    return list(reversed(doomed))


def tuning_job_name(obj: Mapping[str, Any]) -> str | None:
    """The SageMaker tuning job of a tuning CR: its spec's name, else the one the controller reports."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return spec.get("hyperParameterTuningJobName") or status.get("sageMakerHyperParameterTuningJobName")


def holds(obj: Mapping[str, Any], protected: Iterable[str]) -> bool:
    """True if the tuning CR spawned one of the ``protected`` training jobs/CRs (its best job, or any
    child: SageMaker names them ``<tuning job>-<NNN>-<8 hex>``) or is one of the protected tuning jobs."""
    names = set(protected)
    tuning = tuning_job_name(obj)
    best = ((obj.get("status") or {}).get("bestTrainingJob") or {}).get("trainingJobName")
    if (best and best in names) or (tuning and tuning in names):
        return True
    return bool(tuning) and any(n.startswith(f"{tuning}-") for n in names)


def select_tuning_for_deletion(
    tunings: Iterable[Mapping[str, Any]],
    *,
    keep: int,
    protected: Iterable[str],
    kind: ResourceKind = LEGACY_HPO_JOB,
) -> list[str]:
    """Names of the tuning CRs to delete, oldest first. ``tunings``: the pipeline's HyperparameterTuningJob
    CRs; ``protected``: the champion records' training jobs, training CRs and tuning jobs."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    names = set(protected)
    doomed = [
        t["metadata"]["name"]
        for t in _newest_first(tunings)[keep:]
        if t["metadata"]["name"] not in names and not holds(t, names) and is_finished(t, kind)
    ]
    return list(reversed(doomed))
