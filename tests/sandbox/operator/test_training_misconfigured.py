"""The operator emulator's TrainingJob controller when the operator is broken (a fresh sandbox per test,
since misconfigurations change the process-wide moto account): scaled to zero, watching another
namespace, or with IRSA credentials that AWS refuses (notes A.2/A.3)."""

from __future__ import annotations

import pytest

from tests.sandbox.operator.operator_helpers import (
    FINALIZER,
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
    aws,
    get_cr,
    training_cr,
    wait_gone,
    wait_passes,
    wait_status,
)

TJ = "trainingjobs"
STATUS = "trainingJobStatus"
RECONCILING = "ReconcilingTrainingJob"


def job_names(sandbox) -> set[str]:
    pages = aws(sandbox, "sagemaker").get_paginator("list_training_jobs").paginate()
    return {s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]}


def test_operator_down_leaves_new_crs_alone_and_holds_deletions(sandbox):
    # a CR the operator has seen (finalizer on) but whose job SageMaker rejected: deletable at once
    sandbox.kube.apply(training_cr(sandbox, "s3://nowhere/x/", "early", job_name="not_a_valid_name"))
    wait_status(sandbox, TJ, "early", STATUS, RECONCILING)
    sandbox.misconfigure("operator-not-running")
    wait_passes(sandbox, 1)

    sandbox.kube.apply(training_cr(sandbox, "s3://nowhere/x/", "ignored", fault="reconcile-error:x"))
    sandbox.kube.delete("sagemaker.aws.amazon.com/v1", TJ, "early", namespace="default")
    wait_passes(sandbox, 4)
    ignored = get_cr(sandbox, TJ, "ignored")
    assert "status" not in ignored or not ignored["status"]
    assert "trainingJobName" not in ignored["spec"]
    assert FINALIZER not in (ignored["metadata"].get("finalizers") or [])
    early = get_cr(sandbox, TJ, "early")
    assert early is not None and early["metadata"].get("deletionTimestamp")  # the delete hangs

    deployment = sandbox.kube.get("apps/v1", "deployments", OPERATOR_DEPLOYMENT, namespace=OPERATOR_NAMESPACE)
    deployment["spec"]["replicas"] = 1
    sandbox.kube.apply(deployment)
    wait_status(sandbox, TJ, "ignored", STATUS, RECONCILING)  # back up: reconciled again
    wait_gone(sandbox, TJ, "early")


def test_operator_watching_another_namespace_ignores_default(sandbox):
    sandbox.misconfigure("operator-wrong-namespace")
    sandbox.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sagemaker-jobs"}})
    wait_passes(sandbox, 1)
    for namespace in ("default", "sagemaker-jobs"):
        sandbox.kube.apply(
            training_cr(sandbox, "s3://nowhere/x/", "job", namespace=namespace, fault="reconcile-error:x")
        )
    wait_status(sandbox, TJ, "job", STATUS, RECONCILING, namespace="sagemaker-jobs")
    wait_passes(sandbox, 3)
    assert not (get_cr(sandbox, TJ, "job").get("status") or {})


@pytest.mark.parametrize(
    ("misconfiguration", "expected"),
    [
        ("wrong-sub", ["WebIdentityErr", "AccessDenied", "sts:AssumeRoleWithWebIdentity"]),
        ("wrong-aud", ["WebIdentityErr", "AccessDenied"]),
        ("no-oidc-provider", ["WebIdentityErr", "InvalidIdentityToken", "No OpenIDConnect provider"]),
        (
            "policy-missing",
            ["AccessDeniedException", "not authorized to perform: sagemaker:DescribeTrainingJob"],
        ),
        ("sa-annotation-missing", ["NoCredentialProviders"]),
    ],
)
def test_broken_irsa_shows_the_aws_error(sandbox, misconfiguration, expected):
    sandbox.misconfigure(misconfiguration)
    wait_passes(sandbox, 1)  # a pass already under way may still hold the old service account
    sandbox.kube.apply(training_cr(sandbox, "s3://nowhere/x/", "denied"))
    status = wait_status(sandbox, TJ, "denied", STATUS, RECONCILING)
    assert status["additional"].startswith("Unable to describe SageMaker training job: ")
    for text in expected:
        assert text in status["additional"]
    assert status["sageMakerTrainingJobName"] not in job_names(sandbox)


def test_broad_trust_is_only_a_warning_for_the_operator(sandbox, upload_sample):
    data = upload_sample("broad")
    sandbox.misconfigure("trust-too-broad")
    sandbox.kube.apply(training_cr(sandbox, data, "allowed", fault="stop"))
    status = wait_status(sandbox, TJ, "allowed", STATUS, ("Stopped", RECONCILING, "Failed"))
    assert status[STATUS] == "Stopped", status
