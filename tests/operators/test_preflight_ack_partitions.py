"""The preflight operator for the ACK flavour, in-process on fake hooks: what it reads (the controller
in ``ack-system``, its pods by the Deployment's selector, the job namespace), its rows in the commercial,
China and GovCloud partitions, and the ownership check on the ACK ``Endpoint`` CRs.
"""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.config.run_config import resolve_run_config
from sagemaker_k8s.constants import (
    ACK_DEPLOYMENT,
    ACK_NAMESPACE,
    ACK_SERVICE_ACCOUNT,
    ACK_SUBJECT,
    LABEL_DAG_ID,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    ROLE_ARN_ANNOTATION,
)
from sagemaker_k8s.exceptions import KubeForbidden, KubeNotFound
from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT
from sagemaker_k8s.operators.preflight import SageMakerK8sPreflightOperator
from sagemaker_k8s.preflight.cluster import required_crds
from sagemaker_k8s.preflight.irsa import operator_trust_policy
from sagemaker_k8s.preflight.permissions import full_access_arn
from tests.operators.fakes import DAG_ID, FakeTI, context

ACCOUNT = "123456789012"
CLUSTER = "ml-cluster"
ACK_ROLE = "ack-sagemaker-controller-irsa"
EXECUTION_ROLE = "AmazonSageMaker-ExecutionRole"
SELECTOR = "app.kubernetes.io/instance=ack-sagemaker-controller,app.kubernetes.io/name=sagemaker-chart"
ENDPOINT = DAG_ID.replace("_", "-")


def issuer(region: str) -> str:
    return f"https://oidc.eks.{region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def controller_deployment(name: str, region: str) -> dict:
    labels = dict(p.split("=") for p in SELECTOR.split(","))
    container = {
        "name": "controller",
        "args": ["--aws-region", "$(AWS_REGION)", "--watch-namespace", "$(ACK_WATCH_NAMESPACE)"],
        "env": [{"name": "AWS_REGION", "value": region}, {"name": "ACK_WATCH_NAMESPACE", "value": ""}],
    }
    return {
        "metadata": {"name": name, "namespace": ACK_NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


class FakeKube:
    """A healthy cluster with the ACK controller installed by its Helm chart; records every read."""

    def __init__(self, role_arn: str, region: str, deployment_name: str = ACK_DEPLOYMENT) -> None:
        self.role_arn, self.region = role_arn, region
        self.deployments = {deployment_name: controller_deployment(deployment_name, region)}
        self.namespace_annotations: dict[str, str] = {}
        self.endpoints: list[dict] = []
        self.namespace_error: Exception | None = None
        self.list_error: Exception | None = None
        self.reads: list[tuple] = []

    def crd_names(self) -> set[str]:
        return set(required_crds(tuning=True, batch_scoring=True, ack=True))

    def deployment(self, namespace, name):
        self.reads.append(("deployment", namespace, name))
        return self.deployments.get(name) if namespace == ACK_NAMESPACE else None

    def pods(self, namespace, label_selector):
        self.reads.append(("pods", namespace, label_selector))
        ready = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        return [{"metadata": {"name": "ack-sagemaker-controller-0"}, "status": ready}]

    def service_account(self, namespace, name):
        self.reads.append(("serviceaccount", namespace, name))
        assert (namespace, name) == (ACK_NAMESPACE, ACK_SERVICE_ACCOUNT)
        return {"metadata": {"name": name, "annotations": {ROLE_ARN_ANNOTATION: self.role_arn}}}

    def namespace(self, name):
        self.reads.append(("namespace", name))
        if self.namespace_error:
            raise self.namespace_error
        return {"metadata": {"name": name, "annotations": dict(self.namespace_annotations)}}

    def list(self, kind, namespace, label_selector=""):
        self.reads.append(("list", kind.plural, kind.group, namespace))
        assert kind == ACK_ENDPOINT
        if self.list_error:
            raise self.list_error
        return list(self.endpoints)


class FakeIam:
    """The AWS hook's reads, answering as an account whose OIDC provider is ``provider_arns``."""

    def __init__(self, region: str, provider_arns: list[str], trust: dict, attached: list[str]) -> None:
        self.region, self.provider_arns, self.trust, self.attached = region, provider_arns, trust, attached

    def oidc_issuer(self, cluster_name):
        assert cluster_name == CLUSTER
        return issuer(self.region)

    def oidc_provider_arns(self):
        return list(self.provider_arns)

    def role_trust_policy(self, role_name):
        if role_name == ACK_ROLE:
            return self.trust
        if role_name != EXECUTION_ROLE:
            return None  # no such role
        statement = {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
        return {"Version": "2012-10-17", "Statement": [{**statement, "Action": "sts:AssumeRole"}]}

    def role_permissions(self, role_name):
        return list(self.attached), []

    def bucket_error(self, bucket):
        return None

    def live_endpoint(self, endpoint_name):
        return None


def provider_arn(region: str, part: str) -> str:
    return f"arn:{part}:iam::{ACCOUNT}:oidc-provider/{issuer(region).removeprefix('https://')}"


def healthy(region: str, part: str, **kube_kw) -> tuple[FakeKube, FakeIam]:
    provider = provider_arn(region, part)
    trust = operator_trust_policy(provider, issuer(region), ACK_NAMESPACE, ACK_SERVICE_ACCOUNT)
    kube = FakeKube(f"arn:{part}:iam::{ACCOUNT}:role/{ACK_ROLE}", region, **kube_kw)
    return kube, FakeIam(region, [provider], trust, [full_access_arn(part)])


def run_preflight(monkeypatch, region: str, part: str, kube: FakeKube, iam: FakeIam) -> tuple[bool, dict]:
    """Execute the operator as a task would, flavour ack: (did it pass, its rows by check name)."""
    monkeypatch.setattr("sagemaker_k8s.hooks.aws.SageMakerK8sAwsHook", lambda conn_id, region_name: iam)
    monkeypatch.setattr("sagemaker_k8s.hooks.kubernetes.SageMakerK8sHook", lambda _: kube)
    execution_role = f"arn:{part}:iam::{ACCOUNT}:role/service-role/{EXECUTION_ROLE}"
    cfg = resolve_run_config(
        {"cluster_name": CLUSTER, "flavour": "ack", "tuning": {"max_jobs": 2}, "batch_scoring": True},
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
    return passed, {row["check"]: row for row in summary["rows"]}


PARTITIONS = [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("us-west-2", "aws")]


@pytest.mark.parametrize(("region", "part"), PARTITIONS)
def test_a_healthy_ack_installation_passes_in_every_partition(monkeypatch, region, part):
    kube, iam = healthy(region, part)
    passed, rows = run_preflight(monkeypatch, region, part, kube, iam)
    assert passed, rows
    assert list(rows) == [
        "ACK controller CRDs installed",
        "ACK controller pod running",
        "ACK controller watches namespace default",
        "ACK controller region for namespace default",
        "ACK controller service account (IRSA)",
        "IAM OIDC provider",
        "ACK controller role trust: OIDC provider",
        "ACK controller role trust: service account",
        "ACK controller role trust: audience",
        "ACK controller permissions: SageMaker API",
        "ACK controller permissions: iam:PassRole",
        "execution role trust: sagemaker.amazonaws.com",
        "S3 bucket reachable",
        "serving endpoint",
    ]
    assert rows["IAM OIDC provider"]["detail"] == provider_arn(region, part)
    assert (
        rows["ACK controller role trust: service account"]["detail"]
        == f"only {ACK_SUBJECT} may assume the role"
    )
    assert rows["ACK controller region for namespace default"]["detail"].startswith(region)
    # The controller's objects in ack-system, its pods by its Deployment's selector, the job namespace,
    # ACK Endpoints (never HostingDeployments); nothing of the legacy operator.
    assert kube.reads == [
        ("deployment", ACK_NAMESPACE, ACK_DEPLOYMENT),
        ("serviceaccount", ACK_NAMESPACE, ACK_SERVICE_ACCOUNT),
        ("pods", ACK_NAMESPACE, SELECTOR),
        ("namespace", "default"),
        ("list", "endpoints", "sagemaker.services.k8s.aws", "default"),
    ]


def test_the_deployment_is_also_found_under_the_release_name(monkeypatch):
    kube, iam = healthy("us-west-2", "aws", deployment_name="ack-sagemaker-controller")
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert passed, rows
    assert kube.reads[:2] == [
        ("deployment", ACK_NAMESPACE, ACK_DEPLOYMENT),
        ("deployment", ACK_NAMESPACE, "ack-sagemaker-controller"),
    ]


def test_no_controller_fails_with_the_helm_install(monkeypatch):
    kube, iam = healthy("us-west-2", "aws")
    kube.deployments.clear()
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert not passed
    row = rows["ACK controller pod running"]
    assert row["status"] == "fail"
    assert row["fix"].startswith(
        "helm install -n ack-system ack-sagemaker-controller "
        "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart --version 1.9.1 --set aws.region=us-west-2 "
        '--set serviceAccount.annotations."eks\\.amazonaws\\.com/role-arn"='
        f"arn:aws:iam::{ACCOUNT}:role/{ACK_ROLE}"
    )
    # Nothing to judge without the Deployment: no watch/region rows, no pod listing.
    assert "ACK controller region for namespace default" not in rows
    assert not [r for r in kube.reads if r[0] in ("pods", "namespace")]


@pytest.mark.parametrize(("region", "part"), PARTITIONS)
def test_a_role_trusting_the_legacy_operator_fails_naming_the_ack_subject(monkeypatch, region, part):
    kube, iam = healthy(region, part)
    iam.trust = operator_trust_policy(
        provider_arn(region, part), issuer(region), OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT
    )
    passed, rows = run_preflight(monkeypatch, region, part, kube, iam)
    assert not passed
    row = rows["ACK controller role trust: service account"]
    assert row["status"] == "fail"
    fixed = json.loads(row["fix"].split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0])
    assert fixed == operator_trust_policy(
        provider_arn(region, part), issuer(region), ACK_NAMESPACE, ACK_SERVICE_ACCOUNT
    )
    assert f"--role-name {ACK_ROLE} " in row["fix"] and ACK_SUBJECT in row["fix"]


def test_a_missing_role_is_created_with_the_ack_trust(monkeypatch):
    kube, iam = healthy("us-west-2", "aws")
    kube.role_arn = f"arn:aws:iam::{ACCOUNT}:role/nobody"
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert not passed
    row = rows["ACK controller role exists"]
    assert ACK_SUBJECT in row["fix"]
    assert row["fix"].endswith(
        "aws iam create-role --role-name nobody --assume-role-policy-document file://trust.json"
    )


def test_a_namespace_in_another_region_fails(monkeypatch):
    kube, iam = healthy("us-west-2", "aws")
    kube.namespace_annotations = {"services.k8s.aws/default-region": "eu-west-1"}
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert not passed
    row = rows["ACK controller region for namespace default"]
    assert (row["status"], row["fix"]) == (
        "fail",
        "kubectl annotate namespace default services.k8s.aws/default-region=us-west-2 --overwrite",
    )


def test_an_unreadable_namespace_is_a_failed_row_naming_the_rbac(monkeypatch):
    kube, iam = healthy("us-west-2", "aws")
    kube.namespace_error = KubeForbidden('namespaces "default" is forbidden', status=403)
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert not passed
    row = rows["ACK controller region for namespace default"]
    assert row["status"] == "fail" and "kubectl apply -f include/manifests/rbac.yaml" in row["fix"]


def test_an_endpoint_cr_of_another_dag_is_not_taken_over(monkeypatch):
    kube, iam = healthy("us-west-2", "aws")
    kube.endpoints = [
        {
            "metadata": {
                "name": ENDPOINT,
                "namespace": "default",
                "annotations": {LABEL_DAG_ID: "other_dag"},
            },
            "spec": {"endpointName": ENDPOINT, "endpointConfigName": "c"},
        }
    ]
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert not passed
    row = rows["serving endpoint"]
    assert row["status"] == "fail" and "DAG other_dag" in row["detail"]


def test_the_pipelines_own_endpoint_cr_passes(monkeypatch):
    kube, iam = healthy("us-west-2", "aws")
    kube.endpoints = [
        {
            "metadata": {"name": ENDPOINT, "namespace": "default", "annotations": {LABEL_DAG_ID: DAG_ID}},
            "spec": {"endpointName": ENDPOINT, "endpointConfigName": "c"},
        }
    ]
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert passed, rows
    assert rows["serving endpoint"]["status"] == "pass"


def test_without_the_endpoint_crd_the_serving_row_names_the_crd_fix(monkeypatch):
    kube, iam = healthy("us-west-2", "aws")
    kube.list_error = KubeNotFound("the server could not find the requested resource", status=404)
    passed, rows = run_preflight(monkeypatch, "us-west-2", "aws", kube, iam)
    assert not passed
    row = rows["serving endpoint"]
    assert row["detail"] == "cannot list Endpoints: CRD endpoints.sagemaker.services.k8s.aws not installed"
    assert row["fix"].startswith("helm install -n ack-system ack-sagemaker-controller ")
    assert row["fix"].endswith("kubectl apply -f include/manifests/crds/ack/")
