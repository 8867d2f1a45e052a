"""Extra links on the training, tuning and hosting tasks: the SageMaker console and CloudWatch Logs.

The operators persist the values (region, job or endpoint name) to XCom with ``Link.persist``;
the UI renders the link from them, as the amazon provider's own links do.
"""

from __future__ import annotations

import logging
from typing import ClassVar
from urllib.parse import quote_plus

from airflow.sdk import BaseOperatorLink

# Same contract as the amazon provider's ``links.base_aws.BaseAwsLink`` (``persist`` to XCom,
# ``format_link`` from it), but importing it imports botocore, and these classes are needed at DAG
# parse time (``operator_extra_links``): re-implemented here on the SDK's ``BaseOperatorLink``.
log = logging.getLogger(__name__)
BASE_AWS_CONSOLE_LINK = "https://console.{aws_domain}"
_AWS_DOMAINS = {"aws": "aws.amazon.com", "aws-cn": "amazonaws.cn", "aws-us-gov": "amazonaws-us-gov.com"}


class AwsConsoleLink(BaseOperatorLink):
    """An AWS console link built from the values an operator persisted to XCom under ``key``."""

    name: ClassVar[str]
    key: ClassVar[str]
    format_str: ClassVar[str]

    @staticmethod
    def get_aws_domain(aws_partition: str) -> str | None:
        return _AWS_DOMAINS.get(aws_partition)

    def format_link(self, **kwargs) -> str:
        try:
            return self.format_str.format(**kwargs)
        except KeyError:
            return ""

    def get_link(self, operator, *, ti_key) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        try:
            conf = XCom.get_value(key=self.key, ti_key=ti_key)
            return self.format_link(**conf) if conf else ""
        except Exception:  # a link must never break the UI or the task
            log.debug("%s: no link for %s", self.name, ti_key, exc_info=True)
            return ""

    @classmethod
    def persist(cls, context, operator, region_name: str, aws_partition: str, **kwargs) -> None:
        """Store the link's values in XCom (nothing if the operator does not push XComs)."""
        if not operator.do_xcom_push:
            return
        try:
            context["ti"].xcom_push(
                key=cls.key,
                value={"region_name": region_name, "aws_domain": cls.get_aws_domain(aws_partition), **kwargs},
            )
        except Exception:
            log.debug("%s: could not persist the link's values", cls.name, exc_info=True)


class SageMakerTrainingJobLink(AwsConsoleLink):
    name = "SageMaker Training Job"
    key = "sagemaker_k8s_training_job"
    format_str = BASE_AWS_CONSOLE_LINK + "/sagemaker/home?region={region_name}#/jobs/{job_name}"


class SageMakerTrainingLogsLink(AwsConsoleLink):
    name = "Training Job Logs (CloudWatch)"
    key = "sagemaker_k8s_training_logs"
    format_str = (
        BASE_AWS_CONSOLE_LINK + "/cloudwatch/home?region={region_name}#logsV2:log-groups/log-group/"
        "$252Faws$252Fsagemaker$252FTrainingJobs$3FlogStreamNameFilter$3D{job_name}"
    )

    def format_link(self, **kwargs) -> str:
        if "job_name" not in kwargs:
            return ""
        return super().format_link(**{**kwargs, "job_name": quote_plus(kwargs["job_name"])})


class SageMakerTuningJobLink(AwsConsoleLink):
    name = "SageMaker Tuning Job"
    key = "sagemaker_k8s_tuning_job"
    format_str = BASE_AWS_CONSOLE_LINK + "/sagemaker/home?region={region_name}#/hyper-tuning-jobs/{job_name}"


class SageMakerEndpointLink(AwsConsoleLink):
    name = "SageMaker Endpoint"
    key = "sagemaker_k8s_endpoint"
    format_str = BASE_AWS_CONSOLE_LINK + "/sagemaker/home?region={region_name}#/endpoints/{endpoint_name}"


class SageMakerEndpointLogsLink(AwsConsoleLink):
    name = "Endpoint Logs (CloudWatch)"
    key = "sagemaker_k8s_endpoint_logs"
    format_str = (
        BASE_AWS_CONSOLE_LINK + "/cloudwatch/home?region={region_name}#logsV2:log-groups/log-group/"
        "$252Faws$252Fsagemaker$252FEndpoints$252F{endpoint_name}"
    )
