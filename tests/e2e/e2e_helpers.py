"""Read-back helpers for the end-to-end tests: SageMaker/S3 clients and the CRs in the sandbox."""

from __future__ import annotations

import boto3

from sandbox.kube import KubeApiError

GROUP_VERSION = "sagemaker.aws.amazon.com/v1"


def aws(sandbox, service: str):
    return boto3.client(
        service,
        endpoint_url=sandbox.info.aws_endpoint_url,
        region_name=sandbox.info.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto
    )


def custom_objects(sandbox, plural: str) -> list[dict]:
    """The legacy CRs of one plural in every namespace; [] when the CRD itself is gone (crds-missing)."""
    try:
        return sandbox.kube.list_objects(GROUP_VERSION, plural)
    except KubeApiError as e:
        assert e.code == 404
        return []
