"""Extra links on the training and hosting tasks: the SageMaker console and CloudWatch Logs.

The operators persist the values (region, job or endpoint name) to XCom with ``Link.persist``;
the UI renders the link from them, as the amazon provider's own links do.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink


class SageMakerTrainingJobLink(BaseAwsLink):
    name = "SageMaker Training Job"
    key = "sagemaker_k8s_training_job"
    format_str = BASE_AWS_CONSOLE_LINK + "/sagemaker/home?region={region_name}#/jobs/{job_name}"


class SageMakerTrainingLogsLink(BaseAwsLink):
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


class SageMakerEndpointLink(BaseAwsLink):
    name = "SageMaker Endpoint"
    key = "sagemaker_k8s_endpoint"
    format_str = BASE_AWS_CONSOLE_LINK + "/sagemaker/home?region={region_name}#/endpoints/{endpoint_name}"


class SageMakerEndpointLogsLink(BaseAwsLink):
    name = "Endpoint Logs (CloudWatch)"
    key = "sagemaker_k8s_endpoint_logs"
    format_str = (
        BASE_AWS_CONSOLE_LINK + "/cloudwatch/home?region={region_name}#logsV2:log-groups/log-group/"
        "$252Faws$252Fsagemaker$252FEndpoints$252F{endpoint_name}"
    )
