"""A SageMaker training job held ``InProgress`` in the sandbox, and the checks that it was stopped."""

from __future__ import annotations

from sagemaker_k8s.config.run_config import resolve_run_config
from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB
from sagemaker_k8s.operators.submit import submit_or_reattach
from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
from tests.helpers import aws, wait_for

GROUP_VERSION = "sagemaker.aws.amazon.com/v1"


def start_hanging_job(sandbox, upload_sample, task_id: str) -> tuple[SageMakerK8sTrainingOperator, dict]:
    upload_sample("xgboost-mnist")
    sandbox.arm_fault("hang", kind="TrainingJob")
    cfg = resolve_run_config(
        {"flavour": "legacy", "hyperparameters": {"num_round": 2}},
        variables={
            "sagemaker_k8s_region": sandbox.info.region,
            "sagemaker_k8s_bucket": sandbox.info.bucket,
            "sagemaker_k8s_execution_role_arn": sandbox.info.execution_role_arn,
        },
        connection_region=None,
    )
    operator = SageMakerK8sTrainingOperator(task_id=task_id, config=cfg.to_dict())
    body = operator.build(cfg, "on_kill_dag", "manual__2026-11-30T00:00:00+00:00")
    submit_or_reattach(operator.hook, LEGACY_TRAINING_JOB, body)
    name = body["metadata"]["name"]

    def in_progress():
        obj = sandbox.kube.get(GROUP_VERSION, "trainingjobs", name, namespace="default")
        return (obj.get("status") or {}).get("trainingJobStatus") == "InProgress"

    wait_for(in_progress, timeout=60, what=f"{name} InProgress")
    return operator, body


def assert_cr_gone_and_job_stopped(sandbox, body: dict) -> None:
    name, job = body["metadata"]["name"], body["spec"]["trainingJobName"]
    wait_for(
        lambda: sandbox.kube.get(GROUP_VERSION, "trainingjobs", name, namespace="default") is None,
        timeout=60,
        what=f"TrainingJob {name} deleted",
    )
    assert (
        aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped"
    )
