"""`SageMakerK8sAwsHook` through the ``aws_default`` connection against the sandbox's moto server.

SageMaker here is the sandbox's simulator: the training job really trains XGBoost on the bundled
digits and the endpoint really serves the model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from sagemaker_k8s.constants import SAGEMAKER_FULL_ACCESS_POLICY
from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook
from sandbox.stack import Sandbox
from tests import helpers
from tests.helpers import wait_for

SAGEMAKER_FULL_ACCESS_ARN = f"arn:aws:iam::aws:policy/{SAGEMAKER_FULL_ACCESS_POLICY}"
XGBOOST_IMAGE = "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox for this module (overrides the per-test one). Only one sandbox may run at a time:
    moto's backends are process-wide, so two sandboxes would share (and break) one AWS account."""
    with Sandbox(tmp_path_factory.mktemp("aws-hook") / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


@pytest.fixture
def aws(sandbox_env) -> SageMakerK8sAwsHook:
    return SageMakerK8sAwsHook()


def boto(sandbox, service: str):
    return helpers.aws(sandbox, service)


def test_clients_share_one_session_and_carry_the_providers_config(sandbox, aws):
    clients = [aws.iam, aws.s3, aws.eks, aws.sagemaker, aws.sagemaker_runtime]
    assert [c.meta.service_model.service_name for c in clients] == [
        "iam",
        "s3",
        "eks",
        "sagemaker",
        "sagemaker-runtime",
    ]
    # one boto3 session behind them all: one credential resolution, one load of botocore's data
    assert len({id(c._loader) for c in clients}) == 1
    for client in clients:
        assert client.meta.endpoint_url == sandbox.moto.url  # the connection's endpoint_url
        assert client.meta.region_name == sandbox.info.region
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}
        # the amazon provider's user agent (Airflow and provider versions, the calling class)
        assert "Airflow/" in client.meta.config.user_agent_extra
        assert "AmPP/" in client.meta.config.user_agent_extra
    assert SageMakerK8sAwsHook(region_name="eu-west-1").s3.meta.region_name == "eu-west-1"


# -- EKS / IAM -------------------------------------------------------------------------------------


def test_connection_region(sandbox, aws):
    assert aws.connection_region == sandbox.info.region
    # The property reports the connection's region, whatever region the hook was built for.
    assert SageMakerK8sAwsHook(region_name="eu-west-1").connection_region == sandbox.info.region


def test_oidc_issuer(sandbox, aws):
    assert aws.oidc_issuer(sandbox.info.cluster_name) == sandbox.info.oidc_issuer
    assert sandbox.info.oidc_issuer.startswith("https://oidc.eks.")
    with pytest.raises(ClientError) as info:
        aws.oidc_issuer("no-such-cluster")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_oidc_provider_arns(sandbox, aws):
    host = sandbox.info.oidc_issuer.removeprefix("https://")
    assert aws.oidc_provider_arns() == [f"arn:aws:iam::{sandbox.info.account}:oidc-provider/{host}"]


@pytest.mark.parametrize("role", ["operator", "execution"])
def test_role_trust_policy(sandbox, aws, role):
    arn = sandbox.info.operator_role_arn if role == "operator" else sandbox.info.execution_role_arn
    policy = aws.role_trust_policy(arn.rsplit("/", 1)[-1])
    assert isinstance(policy, dict) and policy["Version"] == "2012-10-17"
    (statement,) = policy["Statement"]
    if role == "operator":
        host = sandbox.info.oidc_issuer.removeprefix("https://")
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{host}")
        assert statement["Condition"]["StringEquals"][f"{host}:aud"] == "sts.amazonaws.com"
    else:
        assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_role_trust_policy_of_a_missing_role_is_none(aws):
    assert aws.role_trust_policy("no-such-role") is None


def test_role_permissions(sandbox, aws):
    role = sandbox.info.operator_role_arn.rsplit("/", 1)[-1]
    inline = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
    }
    iam = boto(sandbox, "iam")
    iam.put_role_policy(RoleName=role, PolicyName="inline-test", PolicyDocument=json.dumps(inline))
    try:
        arns, documents = aws.role_permissions(role)
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="inline-test")
    assert arns == [SAGEMAKER_FULL_ACCESS_ARN]
    assert len(documents) == 2 and all(isinstance(d, dict) for d in documents)
    managed, inline_doc = documents
    actions = [
        a
        for s in managed["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert "sagemaker:*" in actions
    assert inline_doc == inline, "inline policy documents are decoded to dicts"


# -- S3 --------------------------------------------------------------------------------------------


def test_bucket_error(sandbox, aws):
    assert aws.bucket_error(sandbox.info.bucket) is None
    assert aws.bucket_error("no-such-bucket-here") == "404"


def test_bucket_error_after_the_bucket_is_deleted(sandbox, aws):
    bucket = sandbox.info.bucket
    sandbox.misconfigure("no-bucket")
    try:
        assert aws.bucket_error(bucket) == "404"
    finally:  # moto's state is process-wide: put the bucket back for the other tests
        boto(sandbox, "s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": sandbox.info.region}
        )
    assert aws.bucket_error(bucket) is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"5,0,0,255\n7,0,1,0\n", id="small"),
        pytest.param(b"1," * (5 << 20), id="multipart-10MB"),  # above boto3's 8 MB multipart threshold
    ],
)
def test_upload_stored_sha256_read_object_round_trip(sandbox, aws, body):
    bucket, key = sandbox.info.bucket, f"hook-tests/{len(body)}/examples"
    digest = hashlib.sha256(body).hexdigest()
    assert aws.stored_sha256(bucket, key) is None, "missing key"
    aws.upload(bucket, key, body, digest)
    assert aws.stored_sha256(bucket, key) == digest
    assert aws.read_object(bucket, key) == body
    head = boto(sandbox, "s3").head_object(Bucket=bucket, Key=key)
    assert head["Metadata"] == {"sha256": digest}
    assert head["ContentType"] == "text/csv"


def test_object_without_checksum_metadata(sandbox, aws):
    boto(sandbox, "s3").put_object(Bucket=sandbox.info.bucket, Key="hook-tests/plain", Body=b"x")
    assert aws.stored_sha256(sandbox.info.bucket, "hook-tests/plain") is None
    with pytest.raises(ClientError) as info:
        aws.read_object(sandbox.info.bucket, "hook-tests/absent")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"


# -- SageMaker (really trained and hosted by the simulator) ----------------------------------------


def training_request(sandbox, name: str, prefix: str) -> dict:
    bucket = sandbox.info.bucket
    channels = [
        {
            "ChannelName": channel,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{bucket}/{prefix}/{channel}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
            "CompressionType": "None",
        }
        for channel in ("train", "validation")
    ]
    return {
        "TrainingJobName": name,
        "HyperParameters": {
            "objective": "multi:softmax",
            "num_class": "10",
            "num_round": "3",
            "max_depth": "4",
        },
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": sandbox.info.execution_role_arn,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}/output/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def test_final_metrics_and_invoke_csv_after_real_training_and_hosting(sandbox, aws, upload_sample):
    prefix, job, endpoint = "hook-sm", "hook-training", "hook-endpoint"
    upload_sample(prefix)
    sm = boto(sandbox, "sagemaker")
    sm.create_training_job(**training_request(sandbox, job, prefix))
    status = wait_for(
        lambda: (
            (s := sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"]) != "InProgress" and s
        ),
        timeout=60,
        what="training job",
    )
    assert status == "Completed"

    metrics = aws.final_metrics(job)
    assert set(metrics) >= {"train:merror", "validation:merror"}
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in metrics.values())
    assert metrics["validation:merror"] < 0.5

    model_data = sm.describe_training_job(TrainingJobName=job)["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(
        ModelName=f"{endpoint}-model",
        ExecutionRoleArn=sandbox.info.execution_role_arn,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": model_data},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{endpoint}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
    status = wait_for(
        lambda: (s := sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]) != "Creating" and s,
        timeout=60,
        what="endpoint",
    )
    assert status == "InService"

    test_rows = aws.read_object(sandbox.info.bucket, f"{prefix}/test/examples").decode().splitlines()[:20]
    answer = aws.invoke_csv(endpoint, ("\n".join(test_rows) + "\n").encode())
    predictions = [float(line) for line in answer.splitlines()]
    assert len(predictions) == 20
    assert all(p.is_integer() and 0 <= p <= 9 for p in predictions)


def test_sagemaker_errors_surface_as_client_errors(aws):
    with pytest.raises(ClientError):
        aws.final_metrics("no-such-job")
    with pytest.raises(ClientError):
        aws.invoke_csv("no-such-endpoint", b"0,0\n")
