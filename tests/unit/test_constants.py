"""The constants must match the operator's installer and Airflow's conventions byte for byte."""

from __future__ import annotations

import pytest

from sagemaker_k8s import constants as c
from sagemaker_k8s.manifests.naming import is_valid_dns_label, is_valid_label_key, is_valid_label_value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OPERATOR_NAMESPACE", "sagemaker-k8s-operator-system"),
        ("OPERATOR_SERVICE_ACCOUNT", "sagemaker-k8s-operator-default"),
        ("OPERATOR_DEPLOYMENT", "sagemaker-k8s-operator-controller-manager"),
        ("ROLE_ARN_ANNOTATION", "eks.amazonaws.com/role-arn"),
        ("LEGACY_FINALIZER", "sagemaker-operator-finalizer"),
        ("STS_AUDIENCE", "sts.amazonaws.com"),
        ("LABEL_MANAGED_BY", "app.kubernetes.io/managed-by"),
        ("MANAGED_BY_VALUE", "airflow"),
        ("LABEL_DAG_ID", "airflow.apache.org/dag-id"),
        ("LABEL_RUN_ID", "airflow.apache.org/run-id"),
        ("LABEL_TASK_ID", "airflow.apache.org/task-id"),
        ("VAR_REGION", "sagemaker_k8s_region"),
        ("VAR_CLUSTER", "sagemaker_k8s_cluster_name"),
        ("VAR_BUCKET", "sagemaker_k8s_bucket"),
        ("VAR_EXECUTION_ROLE", "sagemaker_k8s_execution_role_arn"),
        ("VAR_OPERATOR_ROLE", "sagemaker_k8s_operator_role_arn"),
        ("VAR_NAMESPACE", "sagemaker_k8s_namespace"),
        ("ENV_MANIFESTS_DIR", "SAGEMAKER_K8S_MANIFESTS_DIR"),
    ],
)
def test_exact_values(name: str, value: str) -> None:
    assert getattr(c, name) == value


@pytest.mark.parametrize("key", [c.LABEL_MANAGED_BY, c.LABEL_DAG_ID, c.LABEL_RUN_ID, c.LABEL_TASK_ID])
def test_label_keys_are_valid_kubernetes_keys(key: str) -> None:
    assert is_valid_label_key(key)


def test_names_are_valid_kubernetes_names() -> None:
    assert is_valid_dns_label(c.OPERATOR_NAMESPACE)
    assert is_valid_dns_label(c.OPERATOR_SERVICE_ACCOUNT)
    assert is_valid_label_value(c.MANAGED_BY_VALUE)


def test_variable_names_are_distinct() -> None:
    names = [v for k, v in vars(c).items() if k.startswith("VAR_")]
    assert len(names) == len(set(names)) == 7
