"""The ACK controller as the sandbox installs it (the chart's objects, only the ACK flavour's CRDs), and the
controller's surroundings: its pod (down: nothing is reconciled), its IRSA role (misconfigured: Recoverable
AWS errors), its region (flag, Namespace and CR annotations) and watch namespace; and ``flavour="both"``."""

from __future__ import annotations

import json

import boto3
import pytest

from sandbox.stack import ACK_MISCONFIGURATIONS, MISCONFIGURATIONS
from tests.sandbox.ack.ack_helpers import (
    TJ,
    aws,
    condition,
    conditions,
    get_cr,
    kubectl,
    status_of,
    training_cr,
    wait_condition,
    wait_field,
    wait_passes,
)

SYNCED, RECOVERABLE, READY = "ACK.ResourceSynced", "ACK.Recoverable", "Ready"
ACK_NAMESPACE, ACK_NAME = "ack-system", "ack-sagemaker-controller"


def test_only_the_ack_flavour_is_installed(shared_sandbox):
    sandbox, info = shared_sandbox, shared_sandbox.info
    crds = {n.split("/")[-1] for n in kubectl(sandbox, "get", "crd", "-o", "name").split()}
    ack = {c for c in crds if c.endswith(".sagemaker.services.k8s.aws")}
    assert {p.split(".")[0] for p in ack} == {
        "trainingjobs",
        "hyperparametertuningjobs",
        "models",
        "endpointconfigs",
        "endpoints",
        "transformjobs",
    }
    assert not [c for c in crds if c.endswith(".sagemaker.aws.amazon.com")]
    assert sandbox.operator is None and sandbox.ack is not None
    assert (info.flavour, info.operator_role_arn) == ("ack", info.ack_role_arn)
    assert info.ack_role_arn.endswith(":role/ack-sagemaker-controller-irsa")
    account = json.loads(kubectl(sandbox, "get", "sa", ACK_NAME, "-n", ACK_NAMESPACE, "-o", "json"))
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == info.ack_role_arn
    deployment = json.loads(
        kubectl(sandbox, "get", "deployment", ACK_NAME, "-n", ACK_NAMESPACE, "-o", "json")
    )
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "controller"
    assert container["image"] == "public.ecr.aws/aws-controllers-k8s/sagemaker-controller:1.9.1"
    assert container["args"][:2] == ["--aws-region", "$(AWS_REGION)"]
    assert {e["name"]: e.get("value") for e in container["env"]}["AWS_REGION"] == info.region
    assert deployment["status"]["readyReplicas"] == 1
    kubectl(sandbox, "get", "clusterrole", ACK_NAME)
    kubectl(sandbox, "get", "clusterrolebinding", f"{ACK_NAME}-rolebinding")
    state = sandbox.cluster.ack_state()
    assert state.running and state.flags["--aws-region"] == info.region and state.watch_namespace is None
    assert state.subject == f"system:serviceaccount:{ACK_NAMESPACE}:{ACK_NAME}"
    assert set(sandbox.misconfigurations) == set(MISCONFIGURATIONS) | set(ACK_MISCONFIGURATIONS)


@pytest.mark.parametrize("name", ["operator-not-running", "operator-crashloop"])
def test_without_a_running_controller_pod_nothing_is_reconciled(shared_sandbox, broken, data, name):
    sandbox = shared_sandbox
    broken(name)
    cr_name = f"ack-idle-{name.split('-')[-1]}"
    sandbox.kube.apply(training_cr(sandbox, data, cr_name))
    wait_passes(sandbox, 3)
    assert status_of(sandbox, TJ, cr_name) == {}
    assert not get_cr(sandbox, TJ, cr_name)["metadata"].get("finalizers")
    sandbox.restore()
    status = wait_field(sandbox, TJ, cr_name, "trainingJobStatus", ("Completed", "Failed"))
    assert status["trainingJobStatus"] == "Completed"


def test_a_controller_watching_another_namespace_ignores_default(shared_sandbox, broken, data):
    sandbox = shared_sandbox
    broken("operator-wrong-namespace")
    assert sandbox.cluster.ack_state().watch_namespace == "sagemaker-jobs"
    sandbox.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sagemaker-jobs"}})
    watched = training_cr(sandbox, data, "ack-watched")
    watched["metadata"]["namespace"] = "sagemaker-jobs"
    sandbox.kube.apply(watched)
    sandbox.kube.apply(training_cr(sandbox, data, "ack-unwatched"))
    wait_field(
        sandbox,
        TJ,
        "ack-watched",
        "trainingJobStatus",
        ("InProgress", "Completed"),
        namespace="sagemaker-jobs",
    )
    assert status_of(sandbox, TJ, "ack-unwatched") == {}


DENIED = "api error AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
MESSAGES = {
    "wrong-sub": DENIED,
    "wrong-aud": DENIED,
    "no-oidc-provider": "api error InvalidIdentityToken: No OpenIDConnect provider found in your account",
    "policy-missing": (
        "api error AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/"
        "ack-sagemaker-controller-irsa/"
    ),
    "sa-annotation-missing": (
        "operation error SageMaker: DescribeTrainingJob, get identity: get credentials: "
        "failed to refresh cached credentials, no EC2 IMDS role found"
    ),
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_a_controller_without_credentials_reports_recoverable_errors(shared_sandbox, broken, data, name):
    sandbox = shared_sandbox
    broken(name)
    cr_name = f"ack-denied-{name}"
    sandbox.kube.apply(training_cr(sandbox, data, cr_name))
    status = wait_condition(sandbox, TJ, cr_name, RECOVERABLE)
    assert condition(status, RECOVERABLE)[1].startswith(MESSAGES[name])
    assert condition(status, SYNCED)[0] == "Unknown"
    assert conditions(status)[READY]["reason"] == RECOVERABLE
    assert "trainingJobStatus" not in status
    if name == "wrong-sub":  # retried: once the role is fixed, the job runs
        sandbox.restore()
        status = wait_field(sandbox, TJ, cr_name, "trainingJobStatus", ("Completed", "Failed"))
        assert status["trainingJobStatus"] == "Completed" and RECOVERABLE not in conditions(status)


def test_region_from_the_cr_then_the_namespace_then_the_controller_flag(shared_sandbox, broken, data):
    sandbox = shared_sandbox
    broken("ack-wrong-region")
    assert sandbox.cluster.ack_state().flags["--aws-region"] == "us-east-1"
    sandbox.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": "ack-regional",
                "annotations": {"services.k8s.aws/default-region": sandbox.info.region},
            },
        }
    )
    elsewhere = training_cr(sandbox, data, "ack-elsewhere", fault="hang")
    by_annotation = training_cr(sandbox, data, "ack-annotated", fault="hang")
    by_annotation["metadata"]["annotations"]["services.k8s.aws/region"] = sandbox.info.region
    by_namespace = training_cr(sandbox, data, "ack-regional", fault="hang")
    by_namespace["metadata"]["namespace"] = "ack-regional"
    for cr in (elsewhere, by_annotation, by_namespace):
        sandbox.kube.apply(cr)
    regions = {}
    for name, namespace in (
        ("ack-elsewhere", "default"),
        ("ack-annotated", "default"),
        ("ack-regional", "ack-regional"),
    ):
        status = wait_field(sandbox, TJ, name, "trainingJobStatus", "InProgress", namespace=namespace)
        regions[name] = status["ackResourceMetadata"]["region"]
    assert regions == {
        "ack-elsewhere": "us-east-1",
        "ack-annotated": "us-west-2",
        "ack-regional": "us-west-2",
    }
    west = aws(sandbox, "sagemaker")  # the sandbox's region
    other = boto3.client(
        "sagemaker",
        endpoint_url=sandbox.info.aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - moto
    )
    assert other.describe_training_job(TrainingJobName="ack-elsewhere")["TrainingJobStatus"] == "InProgress"
    assert "ack-elsewhere" not in {
        j["TrainingJobName"] for j in west.list_training_jobs()["TrainingJobSummaries"]
    }
    for client, job in ((other, "ack-elsewhere"), (west, "ack-annotated"), (west, "ack-regional")):
        client.stop_training_job(TrainingJobName=job)
