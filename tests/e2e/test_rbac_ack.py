"""The ACK flavour as Airflow's least-privilege identity: ``include/manifests/rbac-ack.yaml`` is exactly
enough, as ``test_rbac.py`` proves ``rbac.yaml`` for the legacy operator.

On a sandbox with only the ACK controller, the whole DAG (``flavour: auto``, so ``resolve_config``
lists the CRDs), a tuning run, killed training and tuning tasks and a rollback with no champion
(which deletes the Endpoint and its revisions) run as ``default/airflow`` over TLS: every request is
allowed by a binding of rbac-ack.yaml, and every verb x resource of every rule in it was used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from devtools.airflow_runs import DAG_ID
from tests.e2e.test_rbac import ROOT, SA_USER, RecordedTI, granted, identity_for, rbac_documents, used
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

RBAC_ACK = ROOT / "include" / "manifests" / "rbac-ack.yaml"
ACK = "sagemaker.services.k8s.aws/v1alpha1"


@pytest.fixture
def sandbox(tmp_path) -> Iterator:
    from sandbox.stack import Sandbox

    with Sandbox(tmp_path / "sandbox", flavour="ack", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


def objects(sandbox, plural: str) -> list[dict]:
    return sandbox.kube.list_objects(ACK, plural)


def delete_everything(sandbox, run, tuned, monkeypatch, env: dict[str, str]) -> None:
    from sagemaker_k8s.operators.rollback import SageMakerK8sRollbackOperator
    from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
    from sagemaker_k8s.operators.tuning import SageMakerK8sTuningOperator

    for key, value in {**sandbox.env(), **env}.items():
        monkeypatch.setenv(key, value)
    config = run.xcoms["resolve_config"]
    training = SageMakerK8sTrainingOperator(task_id="submit_training", config=config)
    training._submitted = (run.xcoms["submit_training"]["name"], run.xcoms["submit_training"]["namespace"])
    training.on_kill()
    tuning = SageMakerK8sTuningOperator(task_id="submit_tuning", config=tuned.xcoms["resolve_config"])
    tuning._submitted = (tuned.xcoms["submit_tuning"]["name"], tuned.xcoms["submit_tuning"]["namespace"])
    tuning.on_kill()
    (endpoint,) = objects(sandbox, "endpoints")
    endpoint["metadata"]["annotations"].pop("sagemaker-k8s.airflow/champion")
    endpoint["metadata"].pop("resourceVersion", None)
    sandbox.kube.apply(endpoint)
    rollback = SageMakerK8sRollbackOperator(
        task_id="rollback_endpoint", gate_task_id="evaluate_challenger",
        config_task_id="resolve_config", dataset_task_id="upload_dataset",
        promote_task_id="promote_endpoint", smoke_task_id="smoke_test_endpoint",
    )  # fmt: skip
    xcoms = {"resolve_config": config, "upload_dataset": run.xcoms["upload_dataset"]}
    ti = RecordedTI(xcoms, {"promote_endpoint": "failed"}, run.run_id)
    with pytest.raises(AirflowFailException, match="no champion to roll back to"):
        rollback.execute({"ti": ti, "dag": type("D", (), {"dag_id": DAG_ID}), "run_id": run.run_id})
    for plural in ("hyperparametertuningjobs", "trainingjobs", "endpoints", "endpointconfigs", "models"):
        wait_for(lambda p=plural: objects(sandbox, p) == [], timeout=120, what=f"{plural} deleted")


def test_the_ack_pipeline_needs_exactly_rbac_ack_yaml(sandbox, run_dag, tmp_path: Path, monkeypatch):
    identity = identity_for(sandbox, tmp_path, RBAC_ACK)
    kube = sandbox.kube
    kube.clear_requests()
    result, run = run_dag(env=identity.env)
    assert run.state == "success", result.stdout[-3000:] + result.stderr[-2000:]
    assert run.xcoms["resolve_config"]["flavour"] == "ack"
    result, tuned = run_dag(env=identity.env, conf={"tuning": {"max_jobs": 2, "max_parallel": 2}})
    assert tuned.state == "success", result.stdout[-3000:] + result.stderr[-2000:]
    delete_everything(sandbox, run, tuned, monkeypatch, identity.env)

    over_tls = [r for r in kube.requests if r.secure]
    assert over_tls and {r.user for r in over_tls} == {SA_USER}
    denied = [
        f"{r.method} {r.path} -> {r.status}" for r in over_tls if not r.allowed or r.status in (401, 403)
    ]
    assert denied == []
    bindings = [d["metadata"]["name"] for d in rbac_documents(RBAC_ACK) if d["kind"].endswith("Binding")]
    outside = [r.path for r in over_tls if not any(f'Binding "{b}' in r.authz_reason for b in bindings)]
    assert outside == [], "allowed by something other than rbac-ack.yaml"
    assert not [r.path for r in over_tls if r.attributes.api_group == "sagemaker.aws.amazon.com"]
    unused = [
        f"{binding}: {text}"
        for binding, text, grant in granted(RBAC_ACK)
        if not any(used(grant, r.attributes) for r in over_tls)
    ]
    assert unused == [], "rules in rbac-ack.yaml that nothing used"
