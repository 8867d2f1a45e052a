"""Read-back helpers for the end-to-end tests: SageMaker/S3 clients and the CRs in the sandbox."""

from __future__ import annotations

from helpers import aws

from sandbox.kube import KubeApiError

GROUP_VERSION = "sagemaker.aws.amazon.com/v1"


__all__ = ["GROUP_VERSION", "aws", "custom_objects"]


def custom_objects(sandbox, plural: str) -> list[dict]:
    """The legacy CRs of one plural in every namespace; [] when the CRD itself is gone (crds-missing)."""
    try:
        return sandbox.kube.list_objects(GROUP_VERSION, plural)
    except KubeApiError as e:
        assert e.code == 404
        return []
