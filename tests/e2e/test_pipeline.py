"""The DAG end to end with the real Airflow CLI (``airflow dags test``) against the sandbox.

The only link between Airflow and the sandbox is the sandbox's env file (connections, Variables,
dummy credentials): the DAG runs with no conf, exactly as on a real cluster.
"""

from __future__ import annotations

import json
import os

import pytest

from devtools.airflow_runs import dags_test, latest_run, tasks_test
from tests.e2e.e2e_helpers import (
    AFTER_TRAINING,
    SKIPPED_IN_A_FIRST_RUN,
    UPSTREAM_FAILED_AFTER_TRAINING,
    aws,
    batch_crs,
    custom_objects,
)
from tests.helpers import dag_task_ids
from tests.preflight_cases import EXPECTED_FIX

pytestmark = pytest.mark.e2e

AFTER_PREFLIGHT = f"upload_dataset|submit_training|wait_training|{AFTER_TRAINING}"


def test_pipeline_end_to_end_then_rerun_reattaches(sandbox, run_dag):
    result, run = run_dag()
    assert run.state == "success", result.stdout[-3000:]
    # The first run has no champion: the gate promotes (keep_champion skipped), nothing rolls back.
    skipped = SKIPPED_IN_A_FIRST_RUN
    assert run.task_states == {t: "skipped" if t in skipped else "success" for t in dag_task_ids()}

    (job,) = custom_objects(sandbox, "trainingjobs")
    assert job["status"]["trainingJobStatus"] == "Completed"
    model_path = job["status"]["modelPath"]
    bucket, _, key = model_path.removeprefix("s3://").partition("/")
    assert aws(sandbox, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    labels = job["metadata"]["labels"]
    assert labels["airflow.apache.org/dag-id"] == "sagemaker_xgboost_mnist"
    assert labels["airflow.apache.org/task-id"] == "submit_training"

    (hosting,) = custom_objects(sandbox, "hostingdeployments")
    assert hosting["metadata"]["name"] == hosting["spec"]["endpointName"] == "sagemaker-xgboost-mnist"
    assert hosting["status"]["endpointStatus"] == "InService"
    assert hosting["spec"]["models"][0]["containers"][0]["modelDataUrl"] == model_path
    champion = json.loads(hosting["metadata"]["annotations"]["sagemaker-k8s.airflow/champion"])
    assert (champion["model_uri"], champion["run_id"]) == (model_path, run.run_id)

    trained = run.xcoms["wait_training"]
    assert trained["model_path"] == model_path
    assert trained["metrics"]["validation:merror"] < 0.2
    smoke = run.xcoms["smoke_test_endpoint"]
    assert smoke["accuracy"] >= 0.8
    # Batch scoring: the whole test split through a BatchTransformJob, scored against the kept labels.
    scored = run.xcoms["batch_score"]
    assert (
        scored["accuracy"] >= 0.8 and scored["rows"] == 750 and scored["training_job"] == trained["job_name"]
    )
    out_bucket, _, out_prefix = scored["output"].removeprefix("s3://").partition("/")
    outputs = aws(sandbox, "s3").list_objects_v2(Bucket=out_bucket, Prefix=out_prefix)["Contents"]
    assert [o["Key"].rsplit("/", 1)[-1] for o in outputs] == ["examples.out"]
    assert batch_crs(sandbox) == []
    assert champion["test_accuracy"] == scored["accuracy"]
    assert smoke["endpoint_name"] == hosting["status"]["endpointName"]
    assert run.xcoms["submit_training"]["reattached"] is False

    # Clear the training tasks of the same run and run them again: they reattach to the Completed
    # job (same deterministic names) and to the live endpoint, and nothing new is billed.
    env = {**os.environ, **sandbox.env()}
    for task_id in ("submit_training", "wait_training", "promote_endpoint"):
        again = tasks_test(env, task_id, run.run_id)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        if task_id == "submit_training":
            assert "reattached" in again.stdout
    assert len(aws(sandbox, "sagemaker").list_training_jobs()["TrainingJobSummaries"]) == 1
    assert len(aws(sandbox, "sagemaker").list_endpoints()["Endpoints"]) == 1
    assert len(custom_objects(sandbox, "trainingjobs")) == 1
    assert len(custom_objects(sandbox, "hostingdeployments")) == 1


def test_training_failure_fails_at_the_sensor_with_the_reason(sandbox, run_dag):
    sandbox.arm_fault("fail:AlgorithmError: injected failure for the e2e test", kind="TrainingJob")
    result, run = run_dag()
    assert run.state == "failed"
    assert run.task_states["submit_training"] == "success"
    assert run.task_states["wait_training"] == "failed"
    assert {run.task_states[t] for t in UPSTREAM_FAILED_AFTER_TRAINING} == {"upstream_failed"}
    assert run.task_states["rollback_endpoint"] == "skipped"  # the promotion never ran
    assert "AlgorithmError: injected failure for the e2e test" in result.stdout
    assert custom_objects(sandbox, "hostingdeployments") == []
    (job,) = custom_objects(sandbox, "trainingjobs")
    assert job["status"]["trainingJobStatus"] == "Failed"


def test_a_preflight_failure_stops_the_run_before_anything_is_submitted(sandbox, run_dag):
    """One preflight failure end to end: the task fails once (no retry) with the fix in its log and the
    run stops before any side effect. Every misconfiguration's fix is checked in-process against one
    sandbox in tests/operators/test_preflight_sandbox.py."""
    sandbox.misconfigure("no-oidc-provider")
    result, run = run_dag(mark_success_pattern=AFTER_PREFLIGHT)
    assert run.task_states["check_iam_oidc"] == "failed", result.stdout[-3000:]
    assert run.try_numbers["check_iam_oidc"] == 1
    assert run.state == "failed"
    assert EXPECTED_FIX["no-oidc-provider"] in " ".join(result.stdout.split()), result.stdout[-4000:]
    assert custom_objects(sandbox, "trainingjobs") == []


def test_unknown_conf_key_fails_first_with_no_side_effect(sandbox, run_dag):
    result, run = run_dag(conf={"num_round": 7})  # a hyperparameter given at the top level
    assert run.task_states["resolve_config"] == "failed", result.stdout[-3000:]
    assert run.state == "failed"
    fix = 'it is a hyperparameter: {"hyperparameters": {"num_round": 7}}'
    assert fix in " ".join(result.stdout.split()), result.stdout[-4000:]
    states = {t: s for t, s in run.task_states.items() if t != "resolve_config"}
    # They run after a failure, but nothing was submitted and nothing was promoted.
    cleanups = ("cleanup_training", "cleanup_tuning", "rollback_endpoint")
    assert {t: states.pop(t) for t in cleanups} == dict.fromkeys(cleanups, "skipped")
    assert set(states.values()) == {"upstream_failed"}
    assert custom_objects(sandbox, "trainingjobs") == []
    assert aws(sandbox, "s3").list_objects_v2(Bucket=sandbox.info.bucket)["KeyCount"] == 0


def test_invalid_param_value_creates_no_run(sandbox, airflow_db, tmp_path):
    # Airflow itself validates the typed Params before the run exists (the UI form does the same).
    env = {**os.environ, **sandbox.env()}
    before = newest_run_id()
    result = dags_test(env, conf={"instance_count": 0}, log_path=tmp_path / "log")
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "instance_count" in output and "0 is less than the minimum of 1" in output, output[-3000:]
    assert newest_run_id() == before
    assert custom_objects(sandbox, "trainingjobs") == []


def newest_run_id() -> str | None:
    try:
        return latest_run().run_id
    except LookupError:
        return None
