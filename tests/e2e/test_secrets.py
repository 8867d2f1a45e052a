"""No credential or token leaks into task logs, XCom or exception messages.

The DAG runs against the sandbox with recognisable fake secrets (moto and the Kubernetes API
emulator accept any): an AWS access key id and secret key in ``aws_default`` and in the
environment, and a kubeconfig whose user token is recognisable. Then every place a secret could
end up is searched for them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devtools.airflow_runs import DAG_ID
from sandbox.kube import write_kubeconfig
from tests.e2e.e2e_helpers import AFTER_TRAINING

pytestmark = pytest.mark.e2e

ACCESS_KEY_ID = "AKIAFAKESECRETKEYID01"
SECRET_ACCESS_KEY = "fake/Secret+Key/0123456789abcdefSECRET"  # noqa: S105 - fake, for leak detection
KUBE_TOKEN = "fake-kube-token-SECRET-0123456789"  # noqa: S105 - fake, for leak detection
SECRETS = (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    KUBE_TOKEN,
    # Distinctive pieces, in case a secret is split, escaped or partly masked.
    "fake/Secret+Key",
    "0123456789abcdefSECRET",
    "FAKESECRETKEYID",
    "kube-token-SECRET",
)
AFTER_PREFLIGHT = f"upload_dataset|submit_training|wait_training|{AFTER_TRAINING}"
HOSTING_AND_SMOKE = AFTER_TRAINING


@pytest.fixture
def secret_env(sandbox, tmp_path) -> dict[str, str]:
    """The sandbox's env with the fake secrets in the AWS connection, AWS env and kubeconfig."""
    env = sandbox.env()
    sandbox.kube.auth.add_token(KUBE_TOKEN, "kubernetes-admin", ["system:masters"])  # a real cluster's admin
    kubeconfig = write_kubeconfig(
        tmp_path / "secret-kubeconfig",
        sandbox.info.kube_url,
        namespace=sandbox.info.namespace,
        token=KUBE_TOKEN,
    )
    aws_conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    aws_conn.update(login=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    kube_conn = json.loads(env["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
    kube_conn["extra"]["kube_config_path"] = str(kubeconfig)
    return {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws_conn, separators=(",", ":")),
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(kube_conn, separators=(",", ":")),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "KUBECONFIG": str(kubeconfig),
    }


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def assert_no_leak(where: str, text: str) -> None:
    found = leaks(text)
    assert not found, f"{where} contains {found}"


def log_files() -> list[Path]:
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    return [p for p in logs.rglob("*") if p.is_file()]


def all_xcoms(run_id: str) -> dict[tuple[str, str], str]:
    """Every XCom row of the run (any key), as stored and as deserialised."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    out = {}
    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(XComModel.dag_id == DAG_ID, XComModel.run_id == run_id)
        ).all()
        for row in rows:
            raw = json.dumps(row.value, default=str) if not isinstance(row.value, str) else row.value
            value = json.dumps(XComModel.deserialize_value(row), default=str)
            out[(row.task_id, row.key)] = raw + "\n" + value
    return out


def test_no_secret_in_logs_xcom_or_errors(sandbox, run_dag, secret_env):
    # A successful run with the fake secrets (hosting and the smoke test marked success).
    result, run = run_dag(env=secret_env, mark_success_pattern=HOSTING_AND_SMOKE)
    assert run.state == "success", result.stdout[-3000:] + result.stderr[-3000:]
    assert run.task_states["wait_training"] == "success"

    assert_no_leak("dags test stdout", result.stdout)
    assert_no_leak("dags test stderr", result.stderr)
    xcoms = all_xcoms(run.run_id)
    assert ("submit_training", "return_value") in xcoms
    assert ("wait_training", "return_value") in xcoms
    for (task_id, key), text in xcoms.items():
        assert_no_leak(f"XCom {task_id}/{key}", text)
    assert_no_leak("latest_run().xcoms", json.dumps(run.xcoms, default=str))

    # A deliberately failing run: the preflight's exception text must not carry them either.
    sandbox.misconfigure("wrong-sub")
    failed, failed_run = run_dag(env=secret_env, mark_success_pattern=AFTER_PREFLIGHT)
    assert failed_run.state == "failed"
    assert failed_run.task_states["check_iam_oidc"] == "failed"
    flat = " ".join(failed.stdout.split())
    assert "update-assume-role-policy" in flat, failed.stdout[-3000:]  # the exception text is there
    assert_no_leak("failing dags test stdout", failed.stdout)
    assert_no_leak("failing dags test stderr", failed.stderr)
    for (task_id, key), text in all_xcoms(failed_run.run_id).items():
        assert_no_leak(f"XCom {task_id}/{key} of the failed run", text)

    # ``dags test`` runs the tasks in-process: their logs are its stdout (checked above) ...
    assert "[DAG TEST] starting task_id=wait_training" in result.stdout
    assert "[DAG TEST] starting task_id=check_iam_oidc" in failed.stdout
    # ... and whatever is under $AIRFLOW_HOME/logs (both runs, and any earlier run of the session).
    for path in log_files():
        assert_no_leak(str(path), path.read_text(errors="replace"))
