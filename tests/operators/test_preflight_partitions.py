"""The preflight operator in the China and GovCloud partitions, in-process on fake hooks.

The IAM OIDC provider a cluster in ``cn-north-1`` needs is ``arn:aws-cn:iam::<account>:oidc-provider/...``
(``eksctl utils associate-iam-oidc-provider`` creates it there); looking up ``arn:aws:...`` instead
fails a correctly set-up account. (moto names GovCloud ARNs ``arn:aws:``, so the sandbox cannot play
this part; the fakes below answer as IAM does.)
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.config.run_config import resolve_run_config
from sagemaker_k8s.constants import (
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    ROLE_ARN_ANNOTATION,
)
from sagemaker_k8s.operators.preflight import SageMakerK8sPreflightOperator
from sagemaker_k8s.preflight.cluster import required_crds
from sagemaker_k8s.preflight.irsa import operator_trust_policy
from sagemaker_k8s.preflight.permissions import full_access_arn
from tests.operators.fakes import FakeTI, context

ACCOUNT = "123456789012"
CLUSTER = "ml-cluster"
OPERATOR_ROLE = "sagemaker-k8s-operator-irsa"
EXECUTION_ROLE = "AmazonSageMaker-ExecutionRole"


def issuer(region: str) -> str:
    return f"https://oidc.eks.{region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


class FakeKube:
    """A healthy cluster: CRDs installed, the operator's pod ready, its service account annotated."""

    def __init__(self, operator_role_arn: str) -> None:
        self.operator_role_arn = operator_role_arn

    def crd_names(self) -> set[str]:
        return set(required_crds(tuning=True, batch_scoring=True))

    def deployment(self, namespace, name):
        assert (namespace, name) == (OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT)
        container = {"name": "manager", "args": ["--metrics-addr=127.0.0.1:8080"]}
        template = {"spec": {"containers": [container]}}
        return {"metadata": {"name": name}, "spec": {"replicas": 1, "template": template}}

    def pods(self, namespace, label_selector):
        ready = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        return [{"metadata": {"name": "controller-manager-0"}, "status": ready}]

    def service_account(self, namespace, name):
        assert (namespace, name) == (OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)
        return {"metadata": {"name": name, "annotations": {ROLE_ARN_ANNOTATION: self.operator_role_arn}}}

    def list(self, kind, namespace, label_selector=""):
        return []


class FakeIam:
    """The AWS hook's IAM/EKS/S3 reads, answering as an account whose provider is ``provider_arns``."""

    def __init__(
        self, region: str, provider_arns: list[str], trusted_provider: str, attached: list[str]
    ) -> None:
        self.region, self.provider_arns, self.attached = region, provider_arns, attached
        self.trust = operator_trust_policy(
            trusted_provider, issuer(region), OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT
        )
        self.calls: list[str] = []

    def oidc_issuer(self, cluster_name):
        assert cluster_name == CLUSTER
        return issuer(self.region)

    def oidc_provider_arns(self):
        self.calls.append("oidc_provider_arns")
        return list(self.provider_arns)

    def role_trust_policy(self, role_name):
        if role_name == OPERATOR_ROLE:
            return self.trust
        assert role_name == EXECUTION_ROLE
        statement = {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
        return {"Version": "2012-10-17", "Statement": [{**statement, "Action": "sts:AssumeRole"}]}

    def role_permissions(self, role_name):
        return list(self.attached), []

    def bucket_error(self, bucket):
        return None

    def live_endpoint(self, endpoint_name):
        return None


def run_preflight(monkeypatch, region: str, part: str, iam: FakeIam) -> tuple[bool, dict[str, dict]]:
    """Execute the operator as a task would: (did it pass, its rows by check name)."""
    operator_role = f"arn:{part}:iam::{ACCOUNT}:role/{OPERATOR_ROLE}"
    made: list[tuple] = []

    def aws_hook(aws_conn_id, region_name):
        made.append((aws_conn_id, region_name))
        return iam

    monkeypatch.setattr("sagemaker_k8s.hooks.aws.SageMakerK8sAwsHook", aws_hook)
    monkeypatch.setattr("sagemaker_k8s.hooks.kubernetes.SageMakerK8sHook", lambda _: FakeKube(operator_role))
    execution_role = f"arn:{part}:iam::{ACCOUNT}:role/service-role/{EXECUTION_ROLE}"
    cfg = resolve_run_config(
        {"cluster_name": CLUSTER},
        variables={
            "sagemaker_k8s_region": region,
            "sagemaker_k8s_bucket": "bucket",
            "sagemaker_k8s_execution_role_arn": execution_role,
        },
        connection_region=None,
    )
    operator = SageMakerK8sPreflightOperator(task_id="check_iam_oidc", config=cfg.to_dict())
    ti = FakeTI()
    try:
        summary, passed = operator.execute(context(ti)), True
    except AirflowFailException:
        summary, passed = ti.xcoms[("self", "preflight")], False
    assert made == [("aws_default", region)]
    return passed, {row["check"]: row for row in summary["rows"]}


PARTITIONS = [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("us-west-2", "aws")]


@pytest.mark.parametrize(("region", "part"), PARTITIONS)
def test_preflight_looks_up_the_provider_arn_of_the_regions_partition(monkeypatch, region, part):
    provider = f"arn:{part}:iam::{ACCOUNT}:oidc-provider/{issuer(region).removeprefix('https://')}"
    iam = FakeIam(region, [provider], trusted_provider=provider, attached=[full_access_arn(part)])
    passed, rows = run_preflight(monkeypatch, region, part, iam)
    assert passed, rows
    assert iam.calls == ["oidc_provider_arns"]
    assert rows["IAM OIDC provider"] == {
        "check": "IAM OIDC provider",
        "status": "pass",
        "detail": provider,
        "fix": "",
    }
    assert rows["operator role trust: OIDC provider"]["detail"] == f"trusts {provider}"


@pytest.mark.parametrize(("region", "part"), PARTITIONS[:2])
def test_a_provider_in_the_commercial_partition_does_not_count_in_cn_or_govcloud(monkeypatch, region, part):
    """The ARN that used to be looked up everywhere (``arn:aws:``) is not the cluster's provider there;
    each fix names the partition's ARNs."""
    host = issuer(region).removeprefix("https://")
    wrong = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"
    iam = FakeIam(region, [wrong], trusted_provider=wrong, attached=[])
    passed, rows = run_preflight(monkeypatch, region, part, iam)
    assert not passed
    provider = rows["IAM OIDC provider"]
    assert (provider["status"], provider["detail"]) == ("fail", f"no IAM OIDC provider for {issuer(region)}")
    assert provider["fix"].startswith(
        f"eksctl utils associate-iam-oidc-provider --cluster {CLUSTER} --region {region}"
    )
    trust = rows["operator role trust: OIDC provider"]
    assert trust["status"] == "fail"
    assert f'"Federated": "arn:{part}:iam::{ACCOUNT}:oidc-provider/{host}"' in trust["fix"]
    permissions = rows["operator permissions: SageMaker API"]
    assert f"--policy-arn arn:{part}:iam::aws:policy/AmazonSageMakerFullAccess" in permissions["fix"]
