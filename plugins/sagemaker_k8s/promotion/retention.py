"""Which finished TrainingJob CRs of a pipeline to delete after a successful run.

Keep the newest ``keep`` of the pipeline's own training jobs and, whatever their age, the ones the
champion records name (the champion's and the previous champion's, for a rollback by hand). Never
touch a job still running, one being deleted, or a TrainingJob CR that a HyperparameterTuningJob
spawned (it carries the tuning controller's finalizer and goes with its tuning job). Deleting a
finished TrainingJob CR removes only the Kubernetes record: SageMaker keeps the job, S3 the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.status import Phase, interpret

HPO_CHILD_FINALIZER = "sagemaker-operator-hpo-trainingjob"


def is_tuning_child(obj: Mapping[str, Any]) -> bool:
    return HPO_CHILD_FINALIZER in ((obj.get("metadata") or {}).get("finalizers") or [])


def is_finished(obj: Mapping[str, Any]) -> bool:
    return interpret(LEGACY_TRAINING_JOB, obj).phase in (Phase.SUCCEEDED, Phase.FAILED) and not (
        obj.get("metadata") or {}
    ).get("deletionTimestamp")


def select_for_deletion(
    jobs: Iterable[Mapping[str, Any]], *, keep: int, protected: Iterable[str]
) -> list[str]:
    """Names of the CRs to delete, oldest first. ``jobs``: the pipeline's TrainingJob CRs."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    keep_names = set(protected)
    own = [j for j in jobs if not is_tuning_child(j)]
    newest_first = sorted(
        own,
        key=lambda j: ((j.get("metadata") or {}).get("creationTimestamp") or "", j["metadata"]["name"]),
        reverse=True,
    )
    doomed = [
        j["metadata"]["name"]
        for j in newest_first[keep:]
        if j["metadata"]["name"] not in keep_names and is_finished(j)
    ]
    return list(reversed(doomed))
