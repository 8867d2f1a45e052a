"""The same DAG on the ACK SageMaker controller, end to end with ``airflow dags test`` against a sandbox
that has only ACK installed: ``flavour: auto`` finds it, every task takes its ACK path, the results in
XCom have the legacy shape. Then the retraining loop's in-place update on ACK (a new Model and
EndpointConfig revision, ``spec.endpointConfigName`` switched, the old revision deleted), a failed
training, a preflight failure, adoption when a training CR is gone but its job is not, and ``auto``
refusing a cluster with both controllers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from devtools.airflow_runs import tasks_test
from sandbox.kube import KubeApiError
from tests.e2e.e2e_helpers import AFTER_TRAINING, SKIPPED_IN_A_FIRST_RUN, UPSTREAM_FAILED_AFTER_TRAINING, aws
from tests.helpers import dag_task_ids

pytestmark = pytest.mark.e2e

ACK = "sagemaker.services.k8s.aws/v1alpha1"
ENDPOINT = "sagemaker-xgboost-mnist"


@pytest.fixture
def sandbox(tmp_path) -> Iterator:
    """A fresh sandbox with the ACK controller only (overrides the legacy one)."""
    from sandbox.stack import Sandbox

    with Sandbox(tmp_path / "sandbox", flavour="ack", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


def ack_objects(sandbox, plural: str) -> list[dict]:
    try:
        return sandbox.kube.list_objects(ACK, plural)
    except KubeApiError as e:
        assert e.code == 404
        return []


def names(sandbox, plural: str) -> set[str]:
    return {obj["metadata"]["name"] for obj in ack_objects(sandbox, plural)}


def only_revision(sandbox, revision: str) -> None:
    """The endpoint's only Model and EndpointConfig are ``revision``'s, as CRs and in SageMaker (the
    controller finishes deleting the others' CRs on its next passes)."""
    from tests.helpers import wait_for

    def sagemaker_configs() -> set[str]:
        listed = aws(sandbox, "sagemaker").list_endpoint_configs()["EndpointConfigs"]
        return {c["EndpointConfigName"] for c in listed}

    wait_for(
        lambda: (
            names(sandbox, "models") == names(sandbox, "endpointconfigs") == {revision} == sagemaker_configs()
        ),
        timeout=60,
        what=f"only revision {revision} left",
    )


def test_pipeline_on_ack_then_a_promotion_in_place(sandbox, run_dag):
    result, run = run_dag()
    assert run.state == "success", result.stdout[-3000:]
    skipped = SKIPPED_IN_A_FIRST_RUN
    assert run.task_states == {t: "skipped" if t in skipped else "success" for t in dag_task_ids()}
    assert run.xcoms["resolve_config"]["flavour"] == "ack"
    assert "flavour auto: the cluster has the ack controller's CRDs" in result.stdout

    (job,) = ack_objects(sandbox, "trainingjobs")
    assert job["status"]["trainingJobStatus"] == "Completed"
    assert job["metadata"]["annotations"]["services.k8s.aws/region"] == sandbox.info.region
    model_path = job["status"]["modelArtifacts"]["s3ModelArtifacts"]
    bucket, _, key = model_path.removeprefix("s3://").partition("/")
    assert aws(sandbox, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    trained = run.xcoms["wait_training"]
    assert trained["model_path"] == model_path and trained["metrics"]["validation:merror"] < 0.2

    (endpoint,) = ack_objects(sandbox, "endpoints")
    assert endpoint["metadata"]["name"] == endpoint["spec"]["endpointName"] == ENDPOINT
    assert endpoint["status"]["endpointStatus"] == "InService"
    first_revision = endpoint["spec"]["endpointConfigName"]
    assert names(sandbox, "models") == names(sandbox, "endpointconfigs") == {first_revision}
    champion = json.loads(endpoint["metadata"]["annotations"]["sagemaker-k8s.airflow/champion"])
    assert (champion["model_uri"], champion["run_id"]) == (model_path, run.run_id)
    assert run.xcoms["smoke_test_endpoint"]["accuracy"] >= 0.8
    assert run.xcoms["batch_score"]["accuracy"] >= 0.8 and run.xcoms["batch_score"]["rows"] == 750
    assert not ack_objects(sandbox, "transformjobs")  # deleted after a successful score

    # The next run retrains; forced through the gate, it updates the same endpoint in place.
    result, second = run_dag(conf={"force_promote": True, "hyperparameters": {"num_round": 12}})
    assert second.state == "success", result.stdout[-3000:]
    (endpoint,) = ack_objects(sandbox, "endpoints")
    new_revision = endpoint["spec"]["endpointConfigName"]
    assert new_revision != first_revision and endpoint["status"]["endpointStatus"] == "InService"
    live = aws(sandbox, "sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert live["EndpointConfigName"] == new_revision
    only_revision(sandbox, new_revision)  # the old one pruned, in SageMaker too
    champion = json.loads(endpoint["metadata"]["annotations"]["sagemaker-k8s.airflow/champion"])
    assert champion["run_id"] == second.run_id
    assert len(aws(sandbox, "sagemaker").list_endpoints()["Endpoints"]) == 1


def test_a_deleted_training_cr_is_adopted_not_trained_twice(sandbox, run_dag):
    result, run = run_dag(mark_success_pattern=AFTER_TRAINING)
    assert run.task_states["wait_training"] == "success", result.stdout[-3000:]
    (job,) = ack_objects(sandbox, "trainingjobs")
    name = job["metadata"]["name"]
    sandbox.kube.delete(ACK, "trainingjobs", name, namespace=sandbox.info.namespace)
    env = {**os.environ, **sandbox.env()}
    for task_id in ("submit_training", "wait_training"):
        again = tasks_test(env, task_id, run.run_id)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    (adopted,) = ack_objects(sandbox, "trainingjobs")
    assert adopted["metadata"]["annotations"]["services.k8s.aws/adoption-policy"] == "adopt-or-create"
    assert adopted["status"]["trainingJobStatus"] == "Completed"
    assert len(aws(sandbox, "sagemaker").list_training_jobs()["TrainingJobSummaries"]) == 1


def test_training_failure_on_ack_fails_the_wait_with_the_reason(sandbox, run_dag):
    sandbox.arm_fault("fail:AlgorithmError: injected failure on ACK", kind="TrainingJob")
    result, run = run_dag()
    assert run.state == "failed"
    assert run.task_states["wait_training"] == "failed"
    assert {run.task_states[t] for t in UPSTREAM_FAILED_AFTER_TRAINING} == {"upstream_failed"}
    assert "AlgorithmError: injected failure on ACK" in result.stdout
    assert ack_objects(sandbox, "endpoints") == []


def test_a_preflight_failure_on_ack_names_the_fix(sandbox, run_dag):
    sandbox.misconfigure("operator-not-running")
    result, run = run_dag(
        mark_success_pattern=f"upload_dataset|submit_training|wait_training|{AFTER_TRAINING}"
    )
    assert run.task_states["check_iam_oidc"] == "failed", result.stdout[-3000:]
    assert "ack-sagemaker-controller" in result.stdout
    assert ack_objects(sandbox, "trainingjobs") == []


def test_auto_refuses_a_cluster_with_both_controllers(tmp_path, airflow_db):
    from devtools.airflow_runs import dags_test, latest_run
    from sandbox.stack import Sandbox

    with Sandbox(tmp_path / "both", flavour="both", phase_delay=0.05, poll_interval=0.1) as both:
        env = {**os.environ, **both.env()}
        result = dags_test(env, log_path=tmp_path / "log")
        run = latest_run()
        assert run.task_states["resolve_config"] == "failed"
        assert '{"flavour": "legacy"} or {"flavour": "ack"}' in " ".join(result.stdout.split())
        assert both.kube.list_objects(ACK, "trainingjobs") == []


def test_an_update_sagemaker_rolls_back_fails_the_promotion_and_the_champion_stays(sandbox, run_dag):
    import threading

    from tests.helpers import wait_for

    result, first = run_dag()
    assert first.state == "success", result.stdout[-3000:]
    (endpoint,) = ack_objects(sandbox, "endpoints")
    champion_revision = endpoint["spec"]["endpointConfigName"]
    reason = "ping health check failed (injected update failure)"
    sandbox.arm_fault(f"update-fail:{reason}", kind="Endpoint")

    def clear_once_rolled_back() -> None:
        """SageMaker fails the promotion's update and rolls back; then it behaves again. ACK does not
        retry an update that failed for the same config (unlike the legacy operator), so the fault must
        be gone before the rollback's own update to the champion's revision, or that one fails too."""
        wait_for(
            lambda: (
                reason
                in aws(sandbox, "sagemaker").describe_endpoint(EndpointName=ENDPOINT).get("FailureReason", "")
            ),
            timeout=300,
            what="the promotion's update to be rolled back",
        )
        sandbox.clear_faults()

    clearer = threading.Thread(target=clear_once_rolled_back, daemon=True)
    clearer.start()
    result, failed = run_dag(conf={"force_promote": True, "hyperparameters": {"num_round": 4}})
    clearer.join(timeout=10)
    assert failed.state == "failed"
    assert failed.task_states["promote_endpoint"] == "failed"
    assert failed.task_states["rollback_endpoint"] == "failed"
    flat = " ".join(result.stdout.split())
    assert "SageMaker rolled back" in flat and reason in flat, flat[-4000:]
    (endpoint,) = ack_objects(sandbox, "endpoints")
    assert endpoint["spec"]["endpointConfigName"] == champion_revision
    live = aws(sandbox, "sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert (live["EndpointStatus"], live["EndpointConfigName"]) == ("InService", champion_revision)
    champion = json.loads(endpoint["metadata"]["annotations"]["sagemaker-k8s.airflow/champion"])
    assert champion["run_id"] == first.run_id
    only_revision(sandbox, champion_revision)  # the failed challenger's pruned


def test_recoverable_is_bounded_and_terminal_fails_at_once(sandbox, run_dag):
    """ACK's two error conditions end to end (fault row 3 on ACK): ``ACK.Recoverable`` (an API error the
    controller retries) fails the wait after ``SAGEMAKER_K8S_RECONCILING_TIMEOUT`` with its message and
    the cleanup deletes the unwatched CR; ``ACK.Terminal`` (a spec SageMaker refuses) fails it at once."""
    reason = "ThrottlingException: Rate exceeded (injected)"
    sandbox.arm_fault(f"recoverable:{reason}", kind="TrainingJob")
    result, run = run_dag(
        env={"SAGEMAKER_K8S_RECONCILING_TIMEOUT": "15"}, mark_success_pattern=AFTER_TRAINING
    )
    assert run.task_states["wait_training"] == "failed", result.stdout[-3000:]
    assert run.try_numbers["wait_training"] == 1
    flat = " ".join(result.stdout.split())
    assert "ACK.Recoverable" in flat and "Rate exceeded (injected)" in flat, flat[-4000:]
    assert run.xcoms["cleanup_training"]["deleted"] is True
    assert aws(sandbox, "sagemaker").list_training_jobs()["TrainingJobSummaries"] == []

    sandbox.clear_faults()
    sandbox.arm_fault(
        "terminal:InvalidParameterValue: the role cannot be assumed (injected)", kind="TrainingJob"
    )
    result, run = run_dag(
        env={"SAGEMAKER_K8S_RECONCILING_TIMEOUT": "600"}, mark_success_pattern=AFTER_TRAINING
    )
    assert run.task_states["wait_training"] == "failed", result.stdout[-3000:]
    flat = " ".join(result.stdout.split())
    assert "the role cannot be assumed (injected)" in flat, flat[-4000:]
    assert aws(sandbox, "sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
