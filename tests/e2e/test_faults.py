"""Faults end to end: the real ``airflow dags test`` CLI against a sandbox that misbehaves.

Each case injects one fault (operator/SageMaker through ``arm_fault``, Kubernetes API errors through
``sandbox.kube.faults``, or a human deleting the CR) and checks the final task states, the custom
resources left on the cluster and the SageMaker resources behind them.
"""

from __future__ import annotations

import hashlib
import threading

import pytest
from botocore.exceptions import ClientError

from devtools.airflow_runs import latest_run
from sagemaker_k8s.hooks.aws import RETRY_CONFIG
from tests.e2e.e2e_helpers import (
    AFTER_TRAINING,
    GROUP_VERSION,
    UPSTREAM_FAILED_AFTER_TRAINING,
    aws,
    custom_objects,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

HOSTING_AND_SMOKE = AFTER_TRAINING


def training_jobs(sandbox) -> list[dict]:
    return aws(sandbox, "sagemaker").list_training_jobs()["TrainingJobSummaries"]


def output(result) -> str:
    return result.stdout + "\n" + result.stderr


def test_stopped_training_fails_the_sensor_and_skips_hosting(sandbox, run_dag):
    sandbox.arm_fault("stop", kind="TrainingJob")
    result, run = run_dag()
    assert run.state == "failed", output(result)[-3000:]
    assert run.task_states["submit_training"] == "success"
    assert run.task_states["wait_training"] == "failed"
    assert {run.task_states[t] for t in UPSTREAM_FAILED_AFTER_TRAINING} == {"upstream_failed"}
    assert run.task_states["rollback_endpoint"] in ("skipped", "upstream_failed")
    assert "wait_training" not in run.xcoms  # never pushed a (successful) result
    assert "Stopped" in result.stdout

    (job,) = custom_objects(sandbox, "trainingjobs")
    assert job["status"]["trainingJobStatus"] == "Stopped"
    assert custom_objects(sandbox, "hostingdeployments") == []
    (summary,) = training_jobs(sandbox)
    assert summary["TrainingJobStatus"] == "Stopped"
    assert aws(sandbox, "sagemaker").list_endpoints()["Endpoints"] == []


def test_training_stuck_reconciling_fails_after_the_bound_and_the_cleanup_deletes_the_cr(sandbox, run_dag):
    """Fault #3: the operator cannot reach SageMaker (a role it cannot use) and keeps the CR in
    ``ReconcilingTrainingJob``. The wait fails after ``SAGEMAKER_K8S_RECONCILING_TIMEOUT`` with the
    operator's message, without retrying; ``cleanup_training`` deletes the CR nobody watches any more."""
    reason = "AccessDeniedException: sagemaker-k8s-operator-irsa is not authorized (injected)"
    sandbox.arm_fault(f"reconcile-error:{reason}", kind="TrainingJob")
    result, run = run_dag(env={"SAGEMAKER_K8S_RECONCILING_TIMEOUT": "15"})
    assert run.state == "failed", output(result)[-3000:]
    states = run.task_states
    assert (states["submit_training"], states["wait_training"]) == ("success", "failed")
    assert {states[t] for t in UPSTREAM_FAILED_AFTER_TRAINING} == {"upstream_failed"}
    assert states["cleanup_training"] == "success"
    flat = " ".join(output(result).split())
    assert "ReconcilingTrainingJob" in flat and reason in flat, flat[-4000:]
    assert run.try_numbers["wait_training"] == 1, "a stuck controller is not retried"

    cleanup = run.xcoms["cleanup_training"]
    assert cleanup["deleted"] is True and cleanup["wait_state"] == "failed", cleanup
    assert "still reconciling (ReconcilingTrainingJob)" in cleanup["reason"]
    # The operator holds its finalizer until it can reach SageMaker again; no job was ever created.
    (cr,) = custom_objects(sandbox, "trainingjobs")
    assert cr["metadata"].get("deletionTimestamp"), cr["metadata"]
    assert training_jobs(sandbox) == []
    sandbox.clear_faults()
    wait_for(lambda: custom_objects(sandbox, "trainingjobs") == [], timeout=60, what="the CR to go")
    assert training_jobs(sandbox) == []


def test_transient_kubernetes_api_errors_are_retried(sandbox, run_dag):
    faults = sandbox.kube.faults
    # Rules fire in insertion order: the 503s first, then one 429 with Retry-After.
    submit_503 = faults.add(method="POST", path_regex=r"/trainingjobs$", status=503, count=2)
    submit_429 = faults.add(method="POST", path_regex=r"/trainingjobs$", status=429, count=1, retry_after=1)
    poll_503 = faults.add(method="GET", path_regex=r"/trainingjobs/[^/]+$", status=503, count=3)
    poll_429 = faults.add(
        method="GET", path_regex=r"/trainingjobs/[^/]+$", status=429, count=1, retry_after=1
    )

    result, run = run_dag(mark_success_pattern=HOSTING_AND_SMOKE)
    assert run.state == "success", output(result)[-4000:]
    assert run.task_states["submit_training"] == "success"
    assert run.task_states["wait_training"] == "success"
    assert run.xcoms["submit_training"]["reattached"] is False

    assert faults.hits(submit_503) == 2
    assert faults.hits(submit_429) == 1
    assert faults.hits(poll_503) == 3
    assert faults.hits(poll_429) == 1
    assert "transient Kubernetes API error" in output(result)

    (summary,) = training_jobs(sandbox)  # exactly one job despite the retried create
    assert summary["TrainingJobStatus"] == "Completed"
    (job,) = custom_objects(sandbox, "trainingjobs")
    assert job["status"]["trainingJobStatus"] == "Completed"
    assert run.xcoms["wait_training"]["model_path"] == job["status"]["modelPath"]


def test_endpoint_failure_fails_the_promotion_and_leaves_no_failed_endpoint(sandbox, run_dag):
    """The first promotion's endpoint ends Failed: ``promote_endpoint`` fails with SageMaker's reason,
    and with no champion to roll back to ``rollback_endpoint`` deletes the HostingDeployment (and so
    the failed endpoint) instead of leaving it behind."""
    reason = "InsufficientCapacity: injected"
    sandbox.arm_fault(f"endpoint-fail:{reason}", kind="HostingDeployment")
    result, run = run_dag()
    assert run.state == "failed", output(result)[-3000:]
    assert run.task_states["wait_training"] == "success"
    assert run.task_states["promote_endpoint"] == "failed"
    assert run.task_states["smoke_test_endpoint"] == "upstream_failed"
    assert run.task_states["record_champion"] == "upstream_failed"
    assert run.task_states["rollback_endpoint"] == "failed"
    flat = " ".join(output(result).split())
    assert reason in flat, flat[-4000:]
    assert "no champion to roll back to" in flat

    wait_for(lambda: custom_objects(sandbox, "hostingdeployments") == [], timeout=60, what="the CR to go")
    assert aws(sandbox, "sagemaker").list_endpoints()["Endpoints"] == []


def test_training_cr_deleted_while_waiting(sandbox, run_dag):
    sandbox.arm_fault("hang", kind="TrainingJob")
    outcome: dict = {}

    def run_in_background() -> None:
        try:
            outcome["value"] = run_dag(mark_success_pattern=HOSTING_AND_SMOKE)
        except BaseException as e:  # surfaced below
            outcome["error"] = e

    runner = threading.Thread(target=run_in_background, daemon=True)
    runner.start()

    def in_progress() -> dict | None:
        for cr in custom_objects(sandbox, "trainingjobs"):
            if (cr.get("status") or {}).get("trainingJobStatus") == "InProgress":
                return cr
        return None

    cr = wait_for(in_progress, timeout=400, interval=0.5, what="the TrainingJob CR to be InProgress")
    name, namespace = cr["metadata"]["name"], cr["metadata"]["namespace"]
    sandbox.kube.delete(GROUP_VERSION, "trainingjobs", name, namespace=namespace)

    runner.join(timeout=600)
    assert not runner.is_alive(), "the DAG run did not finish"
    if "error" in outcome:
        raise outcome["error"]
    result, run = outcome["value"]
    assert run.state == "failed", output(result)[-3000:]
    assert run.task_states["submit_training"] == "success"
    assert run.task_states["wait_training"] == "failed"
    assert run.task_states["promote_endpoint"] == "upstream_failed"
    flat = " ".join(result.stdout.split())
    assert f"TrainingJob {namespace}/{name}" in flat, result.stdout[-4000:]
    assert "deleted" in flat

    # The operator stopped the job and released its finalizer: the CR is gone, the job Stopped.
    wait_for(lambda: custom_objects(sandbox, "trainingjobs") == [], timeout=60, what="the CR to go")
    (summary,) = training_jobs(sandbox)
    wait_for(
        lambda: (
            aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=summary["TrainingJobName"])[
                "TrainingJobStatus"
            ]
            == "Stopped"
        ),
        timeout=60,
        what="the SageMaker training job to be Stopped",
    )
    assert custom_objects(sandbox, "hostingdeployments") == []


# -- S3 throttling during the dataset upload (fault matrix case #10) ------------------------------
PREFIX = "xgboost-mnist"  # the s3_prefix param's default
TRAIN, VALIDATION, TEST = (f"{PREFIX}/{channel}/examples" for channel in ("train", "validation", "test"))
LABELS = f"{PREFIX}/test-labels/labels"
DATASET_KEYS = [TRAIN, VALIDATION, TEST, LABELS]  # the upload order
AFTER_UPLOAD = f"submit_training|wait_training|{AFTER_TRAINING}"
#: botocore's standard mode counts ``max_attempts`` as *retries* (hooks/aws.py): 9 attempts per call.
ATTEMPTS_PER_CALL = RETRY_CONFIG.retries["max_attempts"] + 1
#: The DAG's retry delay for these runs (seconds; the DAG's own is 30): long enough to look at the bucket
#: between the failed try and the retry (polled every 0.5 s), short enough not to wait half a minute.
RETRY_DELAY = 5


def dataset_object(sandbox, key: str) -> dict | None:
    """The object's metadata, body and whether it is "done": the stored sha256 is its body's."""
    try:
        obj = aws(sandbox, "s3").get_object(Bucket=sandbox.info.bucket, Key=key)
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchKey", e.response
        return None
    body = obj["Body"].read()
    return {
        "body": body,
        "metadata": obj["Metadata"],
        "done": obj["Metadata"].get("sha256") == hashlib.sha256(body).hexdigest(),
    }


def assert_complete_dataset(sandbox) -> None:
    rows = {TRAIN: (3500, 785), VALIDATION: (750, 785), TEST: (750, 784)}  # label first, except test
    for key in DATASET_KEYS:
        obj = dataset_object(sandbox, key)
        assert obj is not None and obj["done"], f"{key}: {obj and obj['metadata']}"
        lines = obj["body"].decode().splitlines()
        if key in rows:
            assert (len(lines), len(lines[0].split(","))) == rows[key], key
        else:
            assert len(lines) == 750 and all(line.isdigit() for line in lines)


def test_s3_throttling_during_the_upload_is_retried(sandbox, run_dag):
    bucket = sandbox.info.bucket
    # First match wins: the first three PUTs under the prefix (the train object's first attempts)
    # are throttled, then the test object's first two PUTs answer 500 InternalError.
    slow_down = sandbox.arm_s3_fault(method="PUT", bucket=bucket, key=f"{PREFIX}/*", count=3)
    internal = sandbox.arm_s3_fault(method="PUT", bucket=bucket, key=TEST, code="InternalError", count=2)

    result, run = run_dag()
    assert run.state == "success", output(result)[-4000:]
    assert run.xcoms["upload_dataset"]["uploaded"] == DATASET_KEYS
    assert sandbox.moto.s3_faults.hits(slow_down) == 3
    assert sandbox.moto.s3_faults.hits(internal) == 2
    fired = [(hit.code, hit.operation, hit.key) for hit in sandbox.moto.s3_faults.fired()]
    assert fired == [("SlowDown", "PutObject", TRAIN)] * 3 + [("InternalError", "PutObject", TEST)] * 2
    assert_complete_dataset(sandbox)
    assert run.xcoms["smoke_test_endpoint"]["accuracy"] >= 0.8  # the data trained and scored


def _newest_run_id() -> str | None:
    try:
        return latest_run().run_id
    except LookupError:
        return None


def test_s3_throttling_past_botocores_retries_fails_the_try_and_the_airflow_retry_uploads_the_rest(
    sandbox, run_dag
):
    """Throttling that outlasts botocore's retries of one PutObject: that try of upload_dataset fails
    with an error naming the object, leaves nothing half-written, and is retried by Airflow; the retry
    uploads only the objects the failed try had not stored.

    About 1.5 minutes: Airflow's start and resolve_config (about 25 s; the preflight is marked success),
    the backoff between the 9 throttled attempts (jittered, at most 1+2+4+8+16+20+20+20 s: about 45 s,
    at most 91 s) and one Airflow retry delay (``SAGEMAKER_K8S_RETRY_DELAY`` shortens the DAG's 30 s to
    5 s, exponential backoff: 5-9 s; 30-59 s if the DAG does not read it). The throttling is armed for
    exactly one try's attempts: throttling that outlasts all 3 tries would add two tries' backoff and a
    second delay to see the same failure twice more.
    """
    bucket = sandbox.info.bucket
    throttled = sandbox.arm_s3_fault(method="PUT", bucket=bucket, key=VALIDATION, count=ATTEMPTS_PER_CALL)
    earlier_run = _newest_run_id()
    outcome: dict = {}

    def run_in_background() -> None:
        try:
            outcome["value"] = run_dag(
                env={"SAGEMAKER_K8S_RETRY_DELAY": str(RETRY_DELAY)},
                mark_success_pattern=f"check_iam_oidc|{AFTER_UPLOAD}",
            )
        except BaseException as e:  # surfaced below
            outcome["error"] = e

    runner = threading.Thread(target=run_in_background, daemon=True)
    runner.start()

    def failed_try() -> str | None:
        """The upload task's state once the first try is over (or "finished" if the run ended)."""
        if not runner.is_alive():
            return "finished"
        if _newest_run_id() in (None, earlier_run):
            return None
        state = latest_run().task_states.get("upload_dataset")
        return state if state in ("up_for_retry", "failed", "success") else None

    state = wait_for(failed_try, timeout=300, interval=0.5, what="the first try of upload_dataset to end")
    # The retry starts RETRY_DELAY s or more after the failed try: look at the bucket in between.
    between = {key: dataset_object(sandbox, key) for key in DATASET_KEYS}
    multipart = aws(sandbox, "s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    hits_between = sandbox.moto.s3_faults.hits(throttled)

    runner.join(timeout=400)
    assert not runner.is_alive(), "the DAG run did not finish"
    if "error" in outcome:
        raise outcome["error"]
    result, run = outcome["value"]
    failure = output(result)
    assert state == "up_for_retry", f"the failed try was not retried ({state})\n{failure[-4000:]}"
    assert hits_between == ATTEMPTS_PER_CALL  # every attempt of the one PutObject was throttled

    # Nothing half-written by the failed try: train done, the throttled object and those after it absent.
    assert between[TRAIN] is not None and between[TRAIN]["done"], between[TRAIN]
    assert [between[key] for key in (VALIDATION, TEST, LABELS)] == [None] * 3
    assert multipart == []

    # The retry succeeded and uploaded only what was missing.
    assert run.state == "success", failure[-4000:]
    assert (run.task_states["upload_dataset"], run.task_states["submit_training"]) == ("success", "success")
    assert run.xcoms["upload_dataset"]["uploaded"] == [VALIDATION, TEST, LABELS]
    assert run.xcoms["upload_dataset"]["unchanged"] == [TRAIN]
    fired = [(hit.code, hit.operation, hit.key) for hit in sandbox.moto.s3_faults.fired()]
    assert fired == [("SlowDown", "PutObject", VALIDATION)] * ATTEMPTS_PER_CALL
    assert_complete_dataset(sandbox)

    # The failure says what was throttled, and which object: the error, not only botocore's message.
    named = f"S3 PutObject of s3://{bucket}/{VALIDATION} failed: SlowDown: Please reduce your request rate."
    assert named in failure, failure[-4000:]
    error_lines = [line for line in failure.splitlines() if "SlowDown" in line]
    assert all("Please reduce your request rate." in line for line in error_lines), "\n".join(error_lines)
    assert "S3ObjectError" in failure
    env = sandbox.env()
    about_it = [line for line in failure.splitlines() if "SlowDown" in line or VALIDATION in line]
    for secret in (env["AWS_SECRET_ACCESS_KEY"], env["AWS_ACCESS_KEY_ID"], "Authorization", "Signature="):
        assert not any(secret in line for line in about_it), secret
