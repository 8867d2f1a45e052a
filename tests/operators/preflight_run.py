"""The DAG's first two tasks run in-process, as a worker runs them, for the preflight matrices."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.operators.config import SageMakerK8sResolveConfigOperator
from sagemaker_k8s.operators.preflight import SageMakerK8sPreflightOperator
from tests.operators.fakes import FakeTI, context


def run_preflight(flavour: str) -> tuple[dict, str | None]:
    """Resolve the config with ``flavour`` and run the preflight: (the summary, the failure message or
    None if the task succeeded)."""
    config = SageMakerK8sResolveConfigOperator(task_id="resolve_config").execute(
        {"params": {"flavour": flavour}}
    )
    assert config["flavour"] == flavour
    operator = SageMakerK8sPreflightOperator(task_id="check_iam_oidc", config=config)
    ti = FakeTI()
    try:
        return operator.execute(context(ti)), None
    except AirflowFailException as e:
        return ti.xcoms[("self", "preflight")], str(e)
