"""Read-back helpers for the end-to-end tests: SageMaker/S3 clients and the CRs in the sandbox."""

from __future__ import annotations

from sandbox.kube import KubeApiError
from tests.helpers import SKIPPED_IN_A_FIRST_RUN, TUNING_BRANCH, aws

GROUP_VERSION = "sagemaker.aws.amazon.com/v1"
#: Every task after the training wait: the gate, both branches, promotion, smoke test, record, rollback
#: and retention (for ``--mark-success-pattern`` when a test is about what happens before).
AFTER_TRAINING = (
    "batch_score|evaluate_challenger|keep_champion|approve_promotion|promote_endpoint|smoke_test_endpoint"
    "|record_champion|rollback_endpoint|retain_training_jobs"
)
#: Downstream of a failed training wait: never run.
UPSTREAM_FAILED_AFTER_TRAINING = (
    "batch_score",
    "evaluate_challenger",
    "approve_promotion",
    "promote_endpoint",
    "smoke_test_endpoint",
    "record_champion",
    "retain_training_jobs",
)

__all__ = [
    "AFTER_TRAINING",
    "GROUP_VERSION",
    "SKIPPED_IN_A_FIRST_RUN",
    "TUNING_BRANCH",
    "UPSTREAM_FAILED_AFTER_TRAINING",
    "aws",
    "batch_crs",
    "custom_objects",
]


def batch_crs(sandbox) -> list[dict]:
    """batch_score's Model and BatchTransformJob CRs (not the HostingDeployment's child Models)."""
    return [
        obj
        for plural in ("models", "batchtransformjobs")
        for obj in custom_objects(sandbox, plural)
        if (obj["metadata"].get("labels") or {}).get("airflow.apache.org/task-id") == "batch_score"
        or plural == "batchtransformjobs"
    ]


def custom_objects(sandbox, plural: str) -> list[dict]:
    """The legacy CRs of one plural in every namespace; [] when the CRD itself is gone (crds-missing)."""
    try:
        return sandbox.kube.list_objects(GROUP_VERSION, plural)
    except KubeApiError as e:
        assert e.code == 404
        return []
