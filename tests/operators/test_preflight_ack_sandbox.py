"""The preflight matrix for the ACK flavour, in-process: each misconfiguration of an ACK sandbox
(``Sandbox(..., flavour="ack")``: the ACK controller in ``ack-system``, its IRSA role trusting
``system:serviceaccount:ack-system:ack-sagemaker-controller``) against the preflight task.

As ``test_preflight_sandbox.py`` does for the legacy operator: the config task and the preflight task run
as a worker runs them, against ONE sandbox for the module; each case breaks one thing, and the sandbox is
restored (and checked to pass again) before the next. The run's flavour is the param ``flavour=ack``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagemaker_k8s.constants import ACK_SUBJECT
from sandbox.stack import ACK_MISCONFIGURATIONS, MISCONFIGURATIONS, Sandbox
from tests.operators.fakes import DAG_ID
from tests.operators.preflight_run import run_preflight
from tests.preflight_cases import BROAD_TRUST_WARNING, WARN_ONLY

HELM_INSTALL = (
    "helm install -n ack-system ack-sagemaker-controller "
    "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart --version 1.9.1 --set aws.region=us-west-2 "
    '--set serviceAccount.annotations."eks\\.amazonaws\\.com/role-arn"='
)
#: The misconfigurations whose fix must also name the ACK controller's IRSA subject.
TRUST_CASES = {"wrong-sub", "wrong-aud", "wildcard-principal"}


def expected_fix(name: str, sandbox: Sandbox) -> str:
    """(Part of) the fix the failed row names for ``name`` on this ACK sandbox, whitespace collapsed."""
    role = sandbox.seed.ack_role_arn.rsplit("/", 1)[-1]
    update_trust = f"aws iam update-assume-role-policy --role-name {role}"
    return {
        "no-oidc-provider": (
            "eksctl utils associate-iam-oidc-provider --cluster sagemaker-sandbox --region us-west-2"
        ),
        "wrong-sub": update_trust,
        "wrong-aud": update_trust,
        "wildcard-principal": update_trust,
        "policy-missing": (
            f"aws iam attach-role-policy --role-name {role} "
            "--policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
        ),
        "execution-role-trust": "aws iam update-assume-role-policy --role-name AmazonSageMaker-ExecutionRole",
        "no-bucket": f"aws s3 mb s3://{sandbox.seed.bucket} --region us-west-2",
        "crds-missing": HELM_INSTALL,
        # The Deployment's name is the chart's (ack-sagemaker-controller-sagemaker-chart) or the release's.
        "operator-not-running": "kubectl -n ack-system scale deployment ack-sagemaker-controller",
        "operator-crashloop": "rollout restart deployment ack-sagemaker-controller",
        "operator-wrong-namespace": "run the pipeline with namespace=sagemaker-jobs",
        "sa-annotation-missing": (
            "kubectl -n ack-system annotate serviceaccount ack-sagemaker-controller "
            "eks.amazonaws.com/role-arn="
        ),
        # The controller's --aws-region or the namespace's annotation wrong: the annotation fixes both.
        "ack-wrong-region": "kubectl annotate namespace default services.k8s.aws/default-region=us-west-2",
    }[name]


FAILING = sorted(
    {
        "no-oidc-provider", "wrong-sub", "wrong-aud", "wildcard-principal", "policy-missing",
        "execution-role-trust", "no-bucket", "crds-missing", "operator-not-running", "operator-crashloop",
        "operator-wrong-namespace", "sa-annotation-missing", "ack-wrong-region",
    }
)  # fmt: skip


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One ACK sandbox for the whole matrix (overrides the per-test one); `broken` restores it per case."""
    state_dir = tmp_path_factory.mktemp("preflight-ack") / "sandbox"
    with Sandbox(state_dir, flavour="ack", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


def flat(text: str) -> str:
    return " ".join(text.split())


def preflight() -> tuple[dict, str | None]:
    return run_preflight("ack")


def assert_passes() -> None:
    summary, failure = preflight()
    assert failure is None, failure
    assert summary["failed"] == summary["warned"] == 0, summary


@pytest.fixture
def broken(sandbox, sandbox_env) -> Iterator:
    """``broken(name)`` misconfigures the shared sandbox; afterwards it is restored and passes again."""
    yield sandbox.misconfigure
    sandbox.restore()
    assert_passes()


def test_every_ack_misconfiguration_is_covered():
    assert set(FAILING) | WARN_ONLY == set(MISCONFIGURATIONS) | set(ACK_MISCONFIGURATIONS)
    assert not set(FAILING) & WARN_ONLY


def test_the_ack_sandbox_as_started_passes_every_check(sandbox, sandbox_env):
    summary, failure = preflight()
    assert failure is None, failure
    assert summary["ok"] and summary["failed"] == summary["warned"] == 0, summary
    rows = {row["check"]: row for row in summary["rows"]}
    assert {
        "ACK controller CRDs installed",
        "ACK controller pod running",
        "ACK controller watches namespace default",
        "ACK controller region for namespace default",
        "ACK controller service account (IRSA)",
        "IAM OIDC provider",
        "ACK controller role trust: service account",
        "ACK controller permissions: SageMaker API",
        "S3 bucket reachable",
        "serving endpoint",
    } <= set(rows)
    assert not [check for check in rows if check.startswith("operator ")]  # nothing of the legacy operator
    assert (
        rows["ACK controller role trust: service account"]["detail"]
        == f"only {ACK_SUBJECT} may assume the role"
    )
    assert sandbox.seed.ack_role_arn in rows["ACK controller service account (IRSA)"]["detail"]


@pytest.mark.parametrize("name", FAILING)
def test_ack_preflight_fails_with_the_fix(sandbox, broken, name):
    broken(name)
    summary, failure = preflight()
    assert failure is not None, summary
    assert summary["ok"] is False and summary["failed"] >= 1
    fixes = [flat(row["fix"]) for row in summary["rows"] if row["status"] == "fail"]
    want = expected_fix(name, sandbox)
    assert any(want in fix for fix in fixes), fixes
    if name in TRUST_CASES:
        assert any(want in fix and ACK_SUBJECT in fix for fix in fixes), fixes
    # The task's error carries the whole table, fixes included (what the task log shows).
    assert flat(failure).startswith(f"preflight failed: {summary['failed']} of {summary['total']} checks")
    assert want in flat(failure)


@pytest.mark.parametrize("name", sorted(WARN_ONLY))
def test_ack_preflight_warns_on_a_broad_trust_policy(broken, name):
    broken(name)
    summary, failure = preflight()
    assert failure is None, failure
    assert summary["failed"] == 0 and summary["warned"] >= 1
    warned = [flat(row["detail"]) for row in summary["rows"] if row["status"] == "warn"]
    assert any(BROAD_TRUST_WARNING in detail for detail in warned), warned


def test_the_serving_endpoint_row_looks_at_ack_endpoints(sandbox, sandbox_env):
    summary, _ = preflight()
    (serving,) = [row for row in summary["rows"] if row["check"] == "serving endpoint"]
    assert serving["status"] == "pass" and DAG_ID.replace("_", "-") in flat(serving["detail"]), serving
