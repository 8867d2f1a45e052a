"""Tuning against the sandbox's real servers, on both flavours: the submit task's manifest through
`SageMakerK8sHook`, the controller emulator (the legacy operator's or ACK's) reconciling it (two training
jobs really trained with XGBoost), the wait in poke mode, and `SageMakerK8sAwsHook.tuning_result` /
`tuning_training_jobs` naming the best job -- the same challenger on both flavours; child TrainingJob CRs
on legacy only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagemaker_k8s.config.run_config import resolve_run_config
from sagemaker_k8s.exceptions import SageMakerJobNotFound
from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook
from sagemaker_k8s.hooks.kubernetes import SageMakerK8sHook
from sagemaker_k8s.manifests.flavours import ACK_TRAINING_JOB, kind_of
from sagemaker_k8s.operators.submit import submit_or_reattach
from sagemaker_k8s.operators.tuning import SageMakerK8sTuningOperator
from sagemaker_k8s.promotion.retention import HPO_CHILD_FINALIZER
from sagemaker_k8s.sensors.tuning import SageMakerK8sTuningSensor
from sandbox.stack import Sandbox
from tests.helpers import aws as boto
from tests.helpers import wait_for

DAG_ID, RUN_ID = "tuning_hook_dag", "manual__2026-12-06T00:00:00+00:00"
M = "validation:merror"


@pytest.fixture(scope="module", params=["legacy", "ack"])
def sandbox(request, tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox per flavour for this module (overrides the per-test one), running that controller."""
    with Sandbox(
        tmp_path_factory.mktemp(f"tuning-hook-{request.param}") / "sandbox",
        flavour=request.param,
        phase_delay=0.05,
        poll_interval=0.1,
    ) as sb:
        yield sb


@pytest.fixture
def tuned(sandbox, sandbox_env, upload_sample):
    """A 2-job tuning job (both at once) submitted as submit_tuning builds it, waited for by the sensor
    in poke mode: (submit XCom, sensor XCom)."""
    cfg = resolve_run_config(
        {
            "flavour": sandbox.flavour,
            "hyperparameters": {"num_round": 3},
            "tuning": {
                "max_jobs": 2, "max_parallel": 2, "strategy": "Random",
                "ranges": {"max_depth": {"min": 2, "max": 5}, "eta": {"min": 0.1, "max": 0.5}},
            },
        },
        variables={
            "sagemaker_k8s_region": sandbox.info.region,
            "sagemaker_k8s_bucket": sandbox.info.bucket,
            "sagemaker_k8s_execution_role_arn": sandbox.info.execution_role_arn,
        },
        connection_region=None,
    )  # fmt: skip
    upload_sample(cfg.s3_prefix)
    submit = SageMakerK8sTuningOperator(task_id="submit_tuning", config=cfg.to_dict())
    body = submit.build(cfg, DAG_ID, RUN_ID)
    submit_or_reattach(SageMakerK8sHook(), kind_of("tuning", cfg.flavour), body)
    submitted = {
        "name": body["metadata"]["name"], "namespace": body["metadata"]["namespace"],
        "job_name": body["spec"]["hyperParameterTuningJobName"], "region": cfg.region,
        "max_runtime_seconds": 120, "objective": {"name": M, "type": "Minimize"},
        "s3_output_path": body["spec"]["trainingJobDefinition"]["outputDataConfig"]["s3OutputPath"],
        "flavour": cfg.flavour,
    }  # fmt: skip
    sensor = SageMakerK8sTuningSensor(task_id="wait_tuning", tuning=submitted, deferrable=False)
    done = wait_for(
        lambda: sensor.poke({}) or None, timeout=60, interval=0.2, what="the tuning job to finish"
    )
    return submitted, done.xcom_value


def test_tuning_result_names_the_best_child(sandbox, tuned):
    submitted, challenger = tuned
    aws = SageMakerK8sAwsHook(region_name=sandbox.info.region)
    result = aws.tuning_result(submitted["job_name"])
    children = aws.tuning_training_jobs(submitted["job_name"])
    assert len(children) == 2 and {c["status"] for c in children} == {"Completed"}
    assert all(c["name"].startswith(f"{submitted['job_name']}-") for c in children)
    values = {c["name"]: c["objective_value"] for c in children}
    best = min(values, key=values.get)

    assert result["status"] == "Completed" and result["failure_reason"] is None
    assert result["best_training_job"] == best
    assert result["objective"] == {"name": M, "type": "Minimize", "value": values[best]}
    assert set(result["hyperparameters"]) == {"eta", "max_depth"}
    assert result["counters"]["completed"] == 2 and result["counters"]["total_error"] == 0
    assert aws.final_metrics(best)[M] == pytest.approx(values[best])

    # The wait's XCom: the best child as the challenger, its model where SageMaker put it.
    assert (challenger["name"], challenger["job_name"]) == (best, best)
    assert challenger["tuning"]["objective"]["value"] == values[best]
    assert challenger["metrics"] == aws.final_metrics(best)
    described = boto(sandbox, "sagemaker").describe_training_job(TrainingJobName=best)
    assert challenger["model_path"] == described["ModelArtifacts"]["S3ModelArtifacts"]


def test_the_best_childs_training_job_cr(sandbox, tuned):
    """The legacy controller creates a TrainingJob CR per child, named like the SageMaker job: the
    challenger's ``name`` refers to a real CR (with the tuning controller's finalizer). ACK creates none:
    there the name is only the SageMaker job's, and nothing may wait for or count child CRs."""
    _, challenger = tuned
    if sandbox.flavour == "ack":
        assert sandbox.kube.list_objects(ACK_TRAINING_JOB.api_version, ACK_TRAINING_JOB.plural) == []
        return
    cr = wait_for(
        lambda: sandbox.kube.get(
            "sagemaker.aws.amazon.com/v1", "trainingjobs", challenger["name"], "default"
        ),
        timeout=30,
        what="the best child's TrainingJob CR",
    )
    assert HPO_CHILD_FINALIZER in cr["metadata"]["finalizers"]


def test_a_missing_tuning_job_is_a_typed_error(sandbox, sandbox_env):
    aws = SageMakerK8sAwsHook(region_name=sandbox.info.region)
    with pytest.raises(SageMakerJobNotFound, match="DescribeHyperParameterTuningJob of no-such-tuning-job"):
        aws.tuning_result("no-such-tuning-job")
