"""Seed the moto account the way the operator walkthrough leaves a real one, and break it on purpose.

``seed_account(url)`` creates, over the AWS API (boto3, dummy credentials):

* EKS cluster ``sagemaker-sandbox`` (version 1.29) whose OIDC issuer is
  ``https://oidc.eks.<region>.amazonaws.com/id/<32 upper-case hex>``, deterministic per account/region/cluster
  (moto cannot set it over the API; it is set on moto's cluster object in-process);
* the IAM OIDC provider for that issuer (client id ``sts.amazonaws.com``);
* the operator's IRSA role ``sagemaker-k8s-operator-irsa`` (web-identity trust for the operator's service
  account, AmazonSageMakerFullAccess attached);
* the ACK SageMaker controller's IRSA role ``ack-sagemaker-controller-irsa`` (web-identity trust for
  ``system:serviceaccount:ack-system:ack-sagemaker-controller``, AmazonSageMakerFullAccess attached);
* the SageMaker execution role ``/service-role/AmazonSageMaker-ExecutionRole`` (trusts
  sagemaker.amazonaws.com, AmazonSageMakerFullAccess attached);
* the bucket ``sagemaker-sandbox-<account>``.

``apply_misconfiguration(url, seed, name, controller="legacy"|"ack")`` applies one of
:data:`AWS_MISCONFIGURATIONS`; those about "the operator role" act on that controller's role.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"  # moto's default account
CLUSTER_NAME = "sagemaker-sandbox"
CLUSTER_VERSION = "1.29"
CLUSTER_ROLE_NAME = "sagemaker-sandbox-eks-cluster-role"
OPERATOR_NAMESPACE = "sagemaker-k8s-operator-system"
OPERATOR_SERVICE_ACCOUNT = "sagemaker-k8s-operator-default"
OPERATOR_SUBJECT = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"
OPERATOR_ROLE_NAME = "sagemaker-k8s-operator-irsa"
ACK_NAMESPACE = "ack-system"
ACK_SERVICE_ACCOUNT = "ack-sagemaker-controller"
ACK_SUBJECT = f"system:serviceaccount:{ACK_NAMESPACE}:{ACK_SERVICE_ACCOUNT}"
ACK_ROLE_NAME = "ack-sagemaker-controller-irsa"
#: controller -> (IRSA role name, the namespace of its service account)
CONTROLLER_ROLES = {"legacy": (OPERATOR_ROLE_NAME, OPERATOR_NAMESPACE), "ack": (ACK_ROLE_NAME, ACK_NAMESPACE)}
EXECUTION_ROLE_NAME = "AmazonSageMaker-ExecutionRole"
EXECUTION_ROLE_PATH = "/service-role/"
OIDC_AUDIENCE = "sts.amazonaws.com"
OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"  # the EKS OIDC root CA thumbprint
SAGEMAKER_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
EKS_CLUSTER_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"

WRONG_SUBJECT = f"system:serviceaccount:{OPERATOR_NAMESPACE}:default"
WRONG_AUDIENCE = "kubernetes.default.svc"
BROAD_SUBJECT = "system:serviceaccount:*:*"
WRONG_EXECUTION_PRINCIPAL = "ec2.amazonaws.com"

AWS_MISCONFIGURATIONS: dict[str, str] = {
    "no-oidc-provider": "the cluster's IAM OIDC identity provider is deleted",
    "wrong-sub": f"the operator role trusts another service account ({WRONG_SUBJECT})",
    "wrong-aud": f"the operator role's trust expects audience {WRONG_AUDIENCE!r}, not sts.amazonaws.com",
    "trust-too-broad": f"the operator role trusts every service account (StringLike {BROAD_SUBJECT}); warn",
    "wildcard-principal": 'the operator role\'s trust policy also allows "Principal": {"AWS": "*"}',
    "policy-missing": "AmazonSageMakerFullAccess is detached from the operator role",
    "execution-role-trust": f"the execution role trusts {WRONG_EXECUTION_PRINCIPAL}, not sagemaker",
    "no-bucket": "the SageMaker bucket is deleted (with its objects)",
}
#: the misconfigurations that act on one controller's IRSA role (the others are account-wide)
ROLE_MISCONFIGURATIONS = frozenset(
    {"wrong-sub", "wrong-aud", "trust-too-broad", "wildcard-principal", "policy-missing"}
)


@dataclass(frozen=True)
class SeedResult:
    cluster_name: str
    oidc_issuer: str
    oidc_provider_arn: str
    operator_role_arn: str
    execution_role_arn: str
    bucket: str
    region: str
    account: str
    ack_role_arn: str = ""

    @property
    def issuer_host(self) -> str:
        """``oidc.eks.<region>.amazonaws.com/id/<ID>`` (the issuer without ``https://``)."""
        return issuer_host(self.oidc_issuer)


def issuer_host(issuer: str) -> str:
    return issuer.removeprefix("https://")


def deterministic_issuer(account: str, region: str, cluster_name: str) -> str:
    digest = hashlib.sha256(f"{account}/{region}/{cluster_name}".encode()).hexdigest()[:32].upper()
    return f"https://oidc.eks.{region}.amazonaws.com/id/{digest}"


def operator_trust_policy(
    provider_arn: str,
    host: str,
    *,
    subject: str = OPERATOR_SUBJECT,
    audience: str = OIDC_AUDIENCE,
    subject_operator: str = "StringEquals",
) -> dict[str, Any]:
    conditions: dict[str, dict[str, str]] = {"StringEquals": {}}
    conditions.setdefault(subject_operator, {})[f"{host}:sub"] = subject
    conditions["StringEquals"][f"{host}:aud"] = audience
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        ],
    }


def service_trust_policy(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


_SESSION: boto3.session.Session | None = None  # shared, so service models are loaded once per process
_SESSION_LOCK = threading.Lock()


def _clients(endpoint_url: str, region: str, account: str):
    config = Config(retries={"total_max_attempts": 2, "mode": "standard"})

    def make(service: str):
        global _SESSION
        with _SESSION_LOCK:  # boto3 sessions are not thread-safe
            if _SESSION is None:
                _SESSION = boto3.session.Session()
            client = _SESSION.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id="sandbox-access-key",
                aws_secret_access_key="sandbox-secret-key",  # noqa: S106 - moto accepts any credentials
                config=config,
            )
        if account != DEFAULT_ACCOUNT:

            def add_account(request, **_: Any) -> None:
                request.headers["x-moto-account-id"] = account

            client.meta.events.register("before-sign.*.*", add_account)
        return client

    return make


def _code(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


def _ensure_role(iam, name: str, trust: dict, path: str = "/", description: str = "") -> str:
    try:
        return iam.create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust), Description=description
        )["Role"]["Arn"]
    except ClientError as e:
        if _code(e) != "EntityAlreadyExists":
            raise
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def _attach(iam, role: str, policy_arn: str) -> None:
    try:
        iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    except ClientError as e:
        if _code(e) == "NoSuchEntity" and ":aws:policy/" in policy_arn:
            raise RuntimeError(
                f"{policy_arn} is not available: start moto with MOTO_IAM_LOAD_MANAGED_POLICIES=true "
                "(sandbox.aws.start_moto does)"
            ) from e
        raise


def _set_issuer_in_process(account: str, region: str, cluster_name: str, issuer: str) -> bool:
    try:
        from moto.backends import get_backend

        cluster = get_backend("eks")[account][region].clusters.get(cluster_name)
    except Exception:  # moto not importable, or not this process's server
        return False
    if cluster is None:
        return False
    cluster.identity = {"oidc": {"issuer": issuer}}
    return True


def seed_account(endpoint_url: str, region: str = "us-west-2", account: str = DEFAULT_ACCOUNT) -> SeedResult:
    """Create the walkthrough's AWS side in moto (idempotent) and describe it."""
    make = _clients(endpoint_url, region, account)
    iam, eks, s3 = make("iam"), make("eks"), make("s3")

    cluster_role_arn = _ensure_role(iam, CLUSTER_ROLE_NAME, service_trust_policy("eks.amazonaws.com"))
    try:
        _attach(iam, CLUSTER_ROLE_NAME, EKS_CLUSTER_POLICY_ARN)
    except RuntimeError:
        log.warning("AmazonEKSClusterPolicy not loaded in moto; cluster role left without it")
    try:
        eks.create_cluster(
            name=CLUSTER_NAME,
            version=CLUSTER_VERSION,
            roleArn=cluster_role_arn,
            resourcesVpcConfig={
                "subnetIds": [],
                "endpointPublicAccess": True,
                "endpointPrivateAccess": False,
            },
        )
    except ClientError as e:
        if _code(e) != "ResourceInUseException":
            raise
    issuer = deterministic_issuer(account, region, CLUSTER_NAME)
    if not _set_issuer_in_process(account, region, CLUSTER_NAME, issuer):
        log.warning("moto runs in another process: keeping moto's own (non-AWS-shaped) OIDC issuer")
    issuer = eks.describe_cluster(name=CLUSTER_NAME)["cluster"]["identity"]["oidc"]["issuer"]
    host = issuer_host(issuer)

    provider_arn = f"arn:aws:iam::{account}:oidc-provider/{host}"
    try:
        provider_arn = iam.create_open_id_connect_provider(
            Url=issuer, ClientIDList=[OIDC_AUDIENCE], ThumbprintList=[OIDC_THUMBPRINT]
        )["OpenIDConnectProviderArn"]
    except ClientError as e:
        if _code(e) != "EntityAlreadyExists":
            raise

    operator_role_arn = _ensure_role(
        iam,
        OPERATOR_ROLE_NAME,
        operator_trust_policy(provider_arn, host),
        description="IRSA role of the SageMaker operator for Kubernetes",
    )
    _attach(iam, OPERATOR_ROLE_NAME, SAGEMAKER_POLICY_ARN)
    ack_role_arn = _ensure_role(
        iam,
        ACK_ROLE_NAME,
        operator_trust_policy(provider_arn, host, subject=ACK_SUBJECT),
        description="IRSA role of the ACK service controller for Amazon SageMaker",
    )
    _attach(iam, ACK_ROLE_NAME, SAGEMAKER_POLICY_ARN)
    execution_role_arn = _ensure_role(
        iam,
        EXECUTION_ROLE_NAME,
        service_trust_policy("sagemaker.amazonaws.com"),
        path=EXECUTION_ROLE_PATH,
        description="SageMaker execution role",
    )
    _attach(iam, EXECUTION_ROLE_NAME, SAGEMAKER_POLICY_ARN)

    bucket = f"sagemaker-sandbox-{account}"
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except ClientError as e:
        if _code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise

    result = SeedResult(
        cluster_name=CLUSTER_NAME,
        oidc_issuer=issuer,
        oidc_provider_arn=provider_arn,
        operator_role_arn=operator_role_arn,
        execution_role_arn=execution_role_arn,
        bucket=bucket,
        region=region,
        account=account,
        ack_role_arn=ack_role_arn,
    )
    log.info("seeded account %s in %s: %s", account, region, result)
    return result


def _empty_and_delete_bucket(s3, bucket: str) -> None:
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        items = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(items), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": items[start : start + 1000], "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def apply_misconfiguration(
    endpoint_url: str, seed: SeedResult, name: str, controller: str = "legacy"
) -> None:
    """Break one AWS-side thing a preflight check must catch; see :data:`AWS_MISCONFIGURATIONS`. The trust and
    permission ones act on ``controller``'s IRSA role (``legacy``: the operator's, ``ack``: the ACK
    controller's)."""
    if name not in AWS_MISCONFIGURATIONS:
        raise ValueError(f"unknown AWS misconfiguration {name!r}; known: {sorted(AWS_MISCONFIGURATIONS)}")
    role, namespace = CONTROLLER_ROLES[controller]
    make = _clients(endpoint_url, seed.region, seed.account)
    iam = make("iam")
    host = seed.issuer_host
    subject = f"system:serviceaccount:{namespace}:" + (
        OPERATOR_SERVICE_ACCOUNT if controller == "legacy" else ACK_SERVICE_ACCOUNT
    )

    def set_trust(policy: dict) -> None:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(policy))

    if name == "no-oidc-provider":
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=seed.oidc_provider_arn)
    elif name == "wrong-sub":
        wrong = f"system:serviceaccount:{namespace}:default"
        set_trust(operator_trust_policy(seed.oidc_provider_arn, host, subject=wrong))
    elif name == "wrong-aud":
        set_trust(
            operator_trust_policy(seed.oidc_provider_arn, host, subject=subject, audience=WRONG_AUDIENCE)
        )
    elif name == "trust-too-broad":
        set_trust(
            operator_trust_policy(
                seed.oidc_provider_arn, host, subject=BROAD_SUBJECT, subject_operator="StringLike"
            )
        )
    elif name == "wildcard-principal":
        policy = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        policy["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
        set_trust(policy)
    elif name == "policy-missing":
        iam.detach_role_policy(RoleName=role, PolicyArn=SAGEMAKER_POLICY_ARN)
    elif name == "execution-role-trust":
        iam.update_assume_role_policy(
            RoleName=EXECUTION_ROLE_NAME,
            PolicyDocument=json.dumps(service_trust_policy(WRONG_EXECUTION_PRINCIPAL)),
        )
    elif name == "no-bucket":
        _empty_and_delete_bucket(make("s3"), seed.bucket)
    log.info("applied AWS misconfiguration %s (%s controller)", name, controller)
