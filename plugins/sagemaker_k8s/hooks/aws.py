"""AWS access for the pipeline, through the amazon provider's hooks (``aws_conn_id``).

Thin on purpose: each method is one or two API calls returning plain data; judging that data
(trust policies, permissions, checksums) is the pure modules' job. Throttling and 5xx (S3
``SlowDown`` included) are retried by botocore's standard retry mode configured here
(``max_attempts`` counts retries: 9 attempts per call, with up to 20 s of jittered backoff between
them for throttling); what still fails surfaces from the dataset's S3 calls as an
``S3ObjectError`` naming the object, which Airflow retries.
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.parse
from functools import cached_property

from botocore.config import Config

DEFAULT_CONN_ID = "aws_default"
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
SHA256_METADATA = "sha256"


def _document(value) -> dict:
    """IAM returns policy documents URL-encoded on the wire; boto3 usually decodes them already."""
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


class SageMakerK8sAwsHook:
    def __init__(self, aws_conn_id: str | None = DEFAULT_CONN_ID, region_name: str | None = None) -> None:
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    @cached_property
    def _base(self):
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name, config=RETRY_CONFIG)

    @cached_property
    def _session(self):
        """One boto3 session for every client of this hook: the connection's credentials are resolved
        once and botocore's models (endpoints, partitions) are loaded once, not once per client."""
        return self._base.get_session(region_name=self.region_name)

    @cached_property
    def _config(self) -> Config:
        """The provider's client config (the retry config on the connection's, and the user agent the
        provider builds by walking the call stack, about 0.2 s), computed once rather than per client."""
        return self._base._get_config()

    def _client(self, service: str):
        """A client as the provider's ``AwsBaseHook(client_type=service).conn`` builds it (the
        connection's per-service endpoint, its TLS verification), from this hook's one session."""
        base = self._base
        return self._session.client(
            service,
            endpoint_url=base.conn_config.get_service_endpoint_url(service_name=service),
            config=self._config,
            verify=base.verify,
        )

    @cached_property
    def iam(self):
        return self._client("iam")

    @cached_property
    def s3(self):
        return self._client("s3")

    @cached_property
    def eks(self):
        return self._client("eks")

    @cached_property
    def sagemaker(self):
        return self._client("sagemaker")

    @cached_property
    def sagemaker_runtime(self):
        return self._client("sagemaker-runtime")

    @property
    def connection_region(self) -> str | None:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.aws_conn_id, client_type="sts").region_name

    # -- EKS / IAM (preflight) --------------------------------------------------------------------
    def oidc_issuer(self, cluster_name: str) -> str | None:
        cluster = self.eks.describe_cluster(name=cluster_name)["cluster"]
        return ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")

    def oidc_provider_arns(self) -> list[str]:
        return [p["Arn"] for p in self.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]

    def role_trust_policy(self, role_name: str) -> dict | None:
        try:
            role = self.iam.get_role(RoleName=role_name)["Role"]
        except self.iam.exceptions.NoSuchEntityException:
            return None
        return _document(role["AssumeRolePolicyDocument"])

    def role_permissions(self, role_name: str) -> tuple[list[str], list[dict]]:
        """The ARNs of the role's attached managed policies and every policy document it has."""
        arns, documents = [], []
        for attached in self.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
            arn = attached["PolicyArn"]
            arns.append(arn)
            policy = self.iam.get_policy(PolicyArn=arn)["Policy"]
            version = self.iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
            documents.append(_document(version["PolicyVersion"]["Document"]))
        for name in self.iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            documents.append(
                _document(self.iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
            )
        return arns, documents

    # -- S3 ---------------------------------------------------------------------------------------
    def bucket_error(self, bucket: str) -> str | None:
        """None if the bucket answers HeadBucket; otherwise the AWS error code (e.g. 404, 403)."""
        from botocore.exceptions import ClientError

        try:
            self.s3.head_bucket(Bucket=bucket)
        except ClientError as e:
            return str(e.response.get("Error", {}).get("Code", "error"))
        return None

    def read_object(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def list_keys(self, bucket: str, prefix: str, page_size: int = 1000) -> list[str]:
        """Every key under ``prefix``, in S3's order (UTF-8 binary), from all pages of ListObjectsV2."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
        )
        return [item["Key"] for page in pages for item in page.get("Contents") or ()]

    def stored_sha256(self, bucket: str, key: str) -> str | None:
        """The sha256 this pipeline recorded in the object's metadata, or None if absent.

        Raises ``S3ObjectError`` (retryable, names the object) when S3 does not answer.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        from sagemaker_k8s.exceptions import s3_object_error

        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise s3_object_error(e, bucket=bucket, key=key, operation="HeadObject") from e
        except BotoCoreError as e:
            raise s3_object_error(e, bucket=bucket, key=key, operation="HeadObject") from e
        return head.get("Metadata", {}).get(SHA256_METADATA)

    def upload(self, bucket: str, key: str, body: bytes, sha256: str) -> None:
        """Upload atomically (multipart completes or nothing is visible) with the checksum as metadata.

        Raises ``S3ObjectError`` (retryable, names ``s3://bucket/key`` and the S3 error code) when
        the upload still fails after botocore's retries.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        from sagemaker_k8s.exceptions import s3_object_error

        try:
            self.s3.upload_fileobj(
                io.BytesIO(body),
                bucket,
                key,
                ExtraArgs={"Metadata": {SHA256_METADATA: sha256}, "ContentType": "text/csv"},
            )
        except ClientError as e:  # its operation_name: PutObject, or UploadPart etc. when multipart
            raise s3_object_error(e, bucket=bucket, key=key) from e
        except BotoCoreError as e:  # no response at all: connection errors, timeouts
            raise s3_object_error(e, bucket=bucket, key=key, operation="upload") from e

    # -- SageMaker ----------------------------------------------------------------------------------
    def final_metrics(self, job_name: str) -> dict[str, float]:
        job = self.sagemaker.describe_training_job(TrainingJobName=job_name)
        return {m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList", [])}

    def training_job_exists(self, job_name: str) -> bool:
        """Whether SageMaker has a training job of that name (in any state); ``SageMakerApiError``."""
        from botocore.exceptions import ClientError

        with _sagemaker_errors("DescribeTrainingJob", job_name):
            try:
                self.sagemaker.describe_training_job(TrainingJobName=job_name)
            except ClientError as e:
                if _missing(e) or e.response.get("Error", {}).get("Code") == "ResourceNotFound":
                    return False
                raise
        return True

    def tuning_result(self, tuning_job_name: str) -> dict:
        """DescribeHyperParameterTuningJob, read by ``tuning_results.tuning_result``: ``SageMakerApiError``"""
        from sagemaker_k8s.manifests.tuning_results import tuning_result

        with _sagemaker_errors("DescribeHyperParameterTuningJob", tuning_job_name):
            return tuning_result(
                self.sagemaker.describe_hyper_parameter_tuning_job(
                    HyperParameterTuningJobName=tuning_job_name
                )
            )

    def tuning_training_jobs(self, tuning_job_name: str) -> list[dict]:
        """Every training job of the tuning job (all pages): ``{"name", "status", "objective_value"}``."""
        from sagemaker_k8s.manifests.tuning_results import training_jobs

        pages = self.sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
        with _sagemaker_errors("ListTrainingJobsForHyperParameterTuningJob", tuning_job_name):
            summaries = [
                summary
                for page in pages.paginate(HyperParameterTuningJobName=tuning_job_name)
                for summary in page.get("TrainingJobSummaries", [])
            ]
        return training_jobs(summaries)

    def live_endpoint(self, endpoint_name: str):
        """What the endpoint serves (DescribeEndpoint -> EndpointConfig -> Model), or None if it does
        not exist; returns a ``promotion.rollout.LiveEndpoint``."""
        from botocore.exceptions import ClientError

        from sagemaker_k8s.promotion.rollout import LiveEndpoint

        try:
            described = self.sagemaker.describe_endpoint(EndpointName=endpoint_name)
        except ClientError as e:
            if _missing(e):
                return None
            raise
        config_name = described["EndpointConfigName"]
        model_url = None
        try:
            config = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            variants = config.get("ProductionVariants") or []
            if variants:
                model = self.sagemaker.describe_model(ModelName=variants[0]["ModelName"])
                container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
                model_url = container.get("ModelDataUrl")
        except ClientError as e:
            if not _missing(e):
                raise
        modified = described.get("LastModifiedTime")
        return LiveEndpoint(
            status=described["EndpointStatus"],
            config_name=config_name,
            model_url=model_url,
            failure_reason=described.get("FailureReason") or None,
            last_modified=modified.isoformat() if modified is not None else None,
        )

    def transform_job(self, job_name: str) -> dict | None:
        """``{"status", "failure_reason", "model_name"}`` of a transform job (DescribeTransformJob), None if
        there is none.

        The legacy operator does not copy SageMaker's FailureReason into the CR: this is where it is.
        """
        from botocore.exceptions import ClientError

        try:
            job = self.sagemaker.describe_transform_job(TransformJobName=job_name)
        except ClientError as e:
            if _missing(e):
                return None
            raise
        return {
            "status": job["TransformJobStatus"],
            "failure_reason": job.get("FailureReason") or None,
            "model_name": job.get("ModelName"),
        }

    def invoke_csv(self, endpoint_name: str, body: bytes) -> str:
        response = self.sagemaker_runtime.invoke_endpoint(
            EndpointName=endpoint_name, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return response["Body"].read().decode()


@contextlib.contextmanager
def _sagemaker_errors(operation: str, job_name: str):
    from botocore.exceptions import BotoCoreError, ClientError

    from sagemaker_k8s.exceptions import sagemaker_error

    try:
        yield
    except (ClientError, BotoCoreError) as e:
        raise sagemaker_error(e, operation=operation, job_name=job_name) from e


def _missing(error) -> bool:
    """SageMaker answers a missing endpoint/config/model with ValidationException "Could not find"."""
    text = str(error)
    return "Could not find" in text or "does not exist" in text
