from __future__ import annotations

import pytest

from sagemaker_k8s.preflight.cluster import (
    REQUIRED_CRDS,
    check_bucket,
    check_crds,
    check_operator_pod,
    check_service_account,
    check_watched_namespace,
    required_crds,
    watched_namespace,
)
from sagemaker_k8s.preflight.report import FAIL, PASS

ROLE = "arn:aws:iam::123456789012:role/sagemaker-k8s-operator-irsa"


def deployment(args=(), replicas=1):
    return {
        "metadata": {"name": "sagemaker-k8s-operator-controller-manager"},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "manager", "args": list(args)}]}},
        },
    }


def pod(ready=True, waiting=None):
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [
            {"name": "manager", "state": {"waiting": {"reason": waiting}} if waiting else {}}
        ],
    }
    return {"metadata": {"name": "op-1"}, "status": status}


@pytest.mark.parametrize(
    ("installed", "status"),
    [
        (REQUIRED_CRDS, "pass"),
        ((*REQUIRED_CRDS, "x.example.com"), "pass"),
        (REQUIRED_CRDS[:1], "fail"),
        ((), "fail"),
    ],
)
def test_crds(installed, status):
    (finding,) = check_crds(installed)
    assert finding.status == status
    if status == "fail":
        assert "kubectl apply -f include/manifests/crds/legacy/" in finding.fix


@pytest.mark.parametrize(
    ("pods", "dep", "status", "in_fix"),
    [
        ([pod()], deployment(), "pass", ""),
        (
            [],
            deployment(replicas=0),
            "fail",
            "scale deployment sagemaker-k8s-operator-controller-manager --replicas=1",
        ),
        ([pod(ready=False, waiting="CrashLoopBackOff")], deployment(), "fail", "logs deployment/"),
        ([], None, "fail", "installer.yaml"),
    ],
)
def test_operator_pod(pods, dep, status, in_fix):
    (finding,) = check_operator_pod(pods, dep)
    assert finding.status == status
    assert in_fix in finding.fix
    if dep and pods and status == "fail":
        assert "CrashLoopBackOff" in finding.detail


@pytest.mark.parametrize(
    ("args", "namespace", "status"),
    [
        ((), "default", "pass"),
        (("--namespace=default",), "default", "pass"),
        (("--namespace=jobs",), "default", "fail"),
    ],
)
def test_watched_namespace(args, namespace, status):
    (finding,) = check_watched_namespace(deployment(args), namespace)
    assert finding.status == status
    assert watched_namespace(deployment(args)) == (args[0].split("=")[1] if args else None)


@pytest.mark.parametrize(
    ("annotations", "expected", "status"),
    [
        ({"eks.amazonaws.com/role-arn": ROLE}, None, "pass"),
        ({"eks.amazonaws.com/role-arn": ROLE}, ROLE, "pass"),
        ({"eks.amazonaws.com/role-arn": ROLE}, ROLE + "-other", "warn"),
        ({}, None, "fail"),
    ],
)
def test_service_account(annotations, expected, status):
    sa = {"metadata": {"name": "sagemaker-k8s-operator-default", "annotations": annotations}}
    (finding,) = check_service_account(sa, expected)
    assert finding.status == status
    if status != "pass":
        assert "kubectl -n sagemaker-k8s-operator-system annotate serviceaccount" in finding.fix


def test_service_account_missing():
    (finding,) = check_service_account(None, None)
    assert finding.status == "fail"


@pytest.mark.parametrize(
    ("error", "status", "fix"),
    [
        (None, "pass", ""),
        ("404", "fail", "aws s3 mb s3://b-1 --region us-west-2"),
        ("403", "fail", "s3:ListBucket"),
    ],
)
def test_bucket(error, status, fix):
    (finding,) = check_bucket("b-1", "us-west-2", error)
    assert finding.status == status and fix in finding.fix


@pytest.mark.parametrize(
    ("region", "arn"),
    [
        ("us-west-2", "arn:aws:s3:::b-1"),
        ("cn-north-1", "arn:aws-cn:s3:::b-1"),
        ("us-gov-west-1", "arn:aws-us-gov:s3:::b-1"),
    ],
)
def test_bucket_access_fix_names_the_regions_partition(region, arn):
    (finding,) = check_bucket("b-1", region, "403")
    assert f" on {arn} " in finding.fix


@pytest.mark.parametrize(
    ("tuning", "batch", "extra"),
    [
        (False, False, set()),
        (True, False, {"hyperparametertuningjobs.sagemaker.aws.amazon.com"}),
        (False, True, {"models.sagemaker.aws.amazon.com", "batchtransformjobs.sagemaker.aws.amazon.com"}),
    ],
)
def test_tuning_and_batch_scoring_need_their_crds(tuning, batch, extra):
    required = required_crds(tuning=tuning, batch_scoring=batch)
    assert set(required) == set(REQUIRED_CRDS) | extra
    (ok,) = check_crds(required, required)
    assert ok.status == PASS
    if extra:
        (missing,) = check_crds(REQUIRED_CRDS, required)
        assert missing.status == FAIL and all(name in missing.detail for name in extra)
