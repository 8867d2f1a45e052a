"""The preflight matrix in-process: each of the sandbox's misconfigurations against the preflight task.

The config task and the preflight task run here as a worker runs them (``execute`` with the real hooks,
the ``aws_default``/``kubernetes_default`` connections and the Variables of the sandbox's env), against ONE
sandbox for the module: each case breaks one thing, and the sandbox is restored (and checked to pass
again) before the next. What only a DAG run shows (the failed task stops the run before anything is
submitted, the table in the task log) is the end-to-end case in ``tests/e2e/test_pipeline.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.operators.config import SageMakerK8sResolveConfigOperator
from sagemaker_k8s.operators.preflight import SageMakerK8sPreflightOperator
from sandbox.stack import MISCONFIGURATIONS, Sandbox
from tests.operators.fakes import DAG_ID
from tests.operators.preflight_run import run_preflight
from tests.preflight_cases import BROAD_TRUST_WARNING, EXPECTED_FIX, WARN_ONLY


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox for the whole matrix (overrides the per-test one); `broken` restores it per case."""
    with Sandbox(tmp_path_factory.mktemp("preflight") / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


def flat(text: str) -> str:
    return " ".join(text.split())


def preflight() -> tuple[dict, str | None]:
    return run_preflight("legacy")


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


def test_every_misconfiguration_is_covered():
    assert set(EXPECTED_FIX) | WARN_ONLY == set(MISCONFIGURATIONS)
    assert not set(EXPECTED_FIX) & WARN_ONLY


def test_the_sandbox_as_started_passes_every_check(sandbox, sandbox_env):
    summary, failure = preflight()
    assert failure is None, failure
    assert summary["ok"] and summary["failed"] == summary["warned"] == 0, summary
    assert summary["total"] >= 10
    assert {row["check"] for row in summary["rows"]} >= {"IAM OIDC provider", "S3 bucket reachable"}


def test_preflight_is_not_retried():
    assert SageMakerK8sPreflightOperator(task_id="check_iam_oidc", config={}).retries == 0


@pytest.mark.parametrize("name", sorted(EXPECTED_FIX))
def test_preflight_fails_with_the_fix(broken, name):
    broken(name)
    summary, failure = preflight()
    assert failure is not None, summary
    assert summary["ok"] is False and summary["failed"] >= 1
    fixes = [flat(row["fix"]) for row in summary["rows"] if row["status"] == "fail"]
    assert any(EXPECTED_FIX[name] in fix for fix in fixes), fixes
    # The task's error carries the whole table, fixes included (what the task log shows).
    assert flat(failure).startswith(f"preflight failed: {summary['failed']} of {summary['total']} checks")
    assert EXPECTED_FIX[name] in flat(failure)


@pytest.mark.parametrize("name", sorted(WARN_ONLY))
def test_preflight_warns_on_a_broad_trust_policy(broken, name):
    broken(name)
    summary, failure = preflight()
    assert failure is None, failure
    assert summary["failed"] == 0 and summary["warned"] >= 1
    warned = [flat(row["detail"]) for row in summary["rows"] if row["status"] == "warn"]
    assert any(BROAD_TRUST_WARNING in detail for detail in warned), warned


def test_the_dag_id_reaches_the_ownership_check(sandbox, sandbox_env):
    """The serving-endpoint row is there only when the task knows its DAG (``context["dag"]``)."""
    summary, _ = preflight()
    (serving,) = [row for row in summary["rows"] if row["check"] == "serving endpoint"]
    assert serving["status"] == "pass" and DAG_ID.replace("_", "-") in flat(serving["detail"]), serving


def test_with_auto_missing_crds_fail_in_resolve_config_with_the_same_fix(broken):
    broken("crds-missing")
    with pytest.raises(AirflowFailException) as e:
        SageMakerK8sResolveConfigOperator(task_id="resolve_config").execute({"params": {}})
    assert EXPECTED_FIX["crds-missing"] in flat(str(e.value))
