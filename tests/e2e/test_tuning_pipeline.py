"""Tuning mode and batch scoring end to end: ``airflow dags test`` with ``tuning`` set, on one sandbox.

The sandbox's operator emulator reconciles the HyperparameterTuningJob like the real controller (it
really trains every child with XGBoost, at most ``max_parallel`` at a time, and creates a child
TrainingJob CR per training job); the batch transform really predicts every test row.
"""

from __future__ import annotations

import os
import threading

import pytest

from devtools.airflow_runs import airflow_settings, dags_test, latest_run, migrate
from tests.e2e.e2e_helpers import GROUP_VERSION, aws, batch_crs, custom_objects
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

TUNING = {"max_jobs": 4, "max_parallel": 2, "strategy": "Random"}
HPO_FINALIZER = "sagemaker-operator-hpo-trainingjob"
TRAINING_BRANCH = ("submit_training", "wait_training")
STATE: dict = {}  # what the deleting thread saw


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """One sandbox and one migrated Airflow database for the module."""
    from pathlib import Path

    from sandbox.stack import Sandbox

    migrate({**os.environ, **airflow_settings(Path(os.environ["AIRFLOW_HOME"]))})
    with Sandbox(tmp_path_factory.mktemp("tuning") / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


def run(sandbox, conf: dict, tmp_path, name: str):
    result = dags_test({**os.environ, **sandbox.env()}, conf=conf, log_path=tmp_path / f"{name}.log")
    return result, latest_run()


def text(result) -> str:
    return " ".join((result.stdout + "\n" + result.stderr).split())


def test_a_tuning_run_deploys_its_best_model_and_scores_the_test_split(tuned, tmp_path):
    result, run_ = run(tuned, {"tuning": TUNING}, tmp_path, "tune")
    assert run_.state == "success", result.stdout[-4000:]
    for task in TRAINING_BRANCH:
        assert run_.task_states[task] == "skipped"
    assert run_.task_states["wait_tuning"] == "success"

    (hpo,) = custom_objects(tuned, "hyperparametertuningjobs")
    assert hpo["status"]["hyperParameterTuningJobStatus"] == "Completed"
    assert hpo["status"]["trainingJobStatusCounters"]["completed"] == 4
    tuning_job = hpo["status"]["sageMakerHyperParameterTuningJobName"]

    # The best job really is the best of the four children, by SageMaker's own objective values.
    sm = aws(tuned, "sagemaker")
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_job)[
        "TrainingJobSummaries"
    ]
    assert len(children) == 4 and {c["TrainingJobStatus"] for c in children} == {"Completed"}
    values = {
        c["TrainingJobName"]: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in children
    }
    best = run_.xcoms["wait_tuning"]
    assert best["job_name"] == min(values, key=values.get)
    assert best["tuning"]["objective"]["value"] == pytest.approx(min(values.values()))
    assert best["tuning"]["job_name"] == tuning_job
    assert set(best["tuning"]["hyperparameters"]) == {"eta", "min_child_weight", "alpha", "max_depth"}

    # Never more than max_parallel at once (training start/end as SageMaker reports them).
    spans = [
        (d["TrainingStartTime"], d["TrainingEndTime"])
        for d in (sm.describe_training_job(TrainingJobName=name) for name in values)
    ]
    overlapping = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert overlapping <= 2

    # The best model (the missing-slash case handled) is the one served, recorded and scored.
    model = best["model_path"]
    output = hpo["spec"]["trainingJobDefinition"]["outputDataConfig"]["s3OutputPath"].rstrip("/")
    assert model == f"{output}/{best['job_name']}/output/model.tar.gz"
    bucket, _, key = model.removeprefix("s3://").partition("/")
    assert aws(tuned, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    (hosting,) = custom_objects(tuned, "hostingdeployments")
    assert hosting["spec"]["models"][0]["containers"][0]["modelDataUrl"] == model
    recorded = run_.xcoms["record_champion"]
    assert (recorded["training_job"], recorded["tuning_job"]) == (best["job_name"], tuning_job)

    scored = run_.xcoms["batch_score"]
    assert scored["accuracy"] >= 0.8 and scored["rows"] > 0
    assert scored["training_job"] == best["job_name"]
    assert "/batch/" in scored["output"]
    assert recorded["test_accuracy"] == scored["accuracy"]
    assert batch_crs(tuned) == []

    # The controller's child TrainingJob CRs are the tuning job's: retention left every one of them.
    children_crs = [
        j for j in custom_objects(tuned, "trainingjobs") if HPO_FINALIZER in j["metadata"]["finalizers"]
    ]
    assert sorted(j["metadata"]["name"] for j in children_crs) == sorted(values)
    log = text(result)
    assert "completed" in log and "best so far" in log  # the wait's progress at every poll


def test_a_tuning_job_whose_children_all_fail_fails_the_wait_with_the_reason(tuned, tmp_path):
    tuned.arm_fault("fail:AlgorithmError: injected for every child", kind="HyperparameterTuningJob")
    try:
        result, run_ = run(tuned, {"tuning": {"max_jobs": 2, "max_parallel": 2}}, tmp_path, "failed")
    finally:
        tuned.clear_faults()
    assert run_.state == "failed"
    assert run_.task_states["wait_tuning"] == "failed"
    assert run_.task_states["evaluate_challenger"] == "upstream_failed"
    assert run_.task_states["batch_score"] == "upstream_failed"
    assert "No training job succeeded" in text(result)


def test_deleting_the_tuning_cr_mid_run_stops_every_child(tuned, tmp_path):
    before = {h["metadata"]["name"] for h in custom_objects(tuned, "hyperparametertuningjobs")}
    tuned.arm_fault("hang", kind="HyperparameterTuningJob")
    sm = aws(tuned, "sagemaker")

    def delete_once_children_run() -> None:
        def running_child():
            for hpo in custom_objects(tuned, "hyperparametertuningjobs"):
                name = (hpo.get("status") or {}).get("sageMakerHyperParameterTuningJobName")
                if hpo["metadata"]["name"] in before or not name:
                    continue
                jobs = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
                if sum(j["TrainingJobStatus"] == "InProgress" for j in jobs["TrainingJobSummaries"]) == 2:
                    return hpo, name
            return None

        found = wait_for(running_child, timeout=300, what="two children of the tuning job running")
        hpo, STATE["tuning_job"] = found
        tuned.kube.delete(GROUP_VERSION, "hyperparametertuningjobs", hpo["metadata"]["name"], "default")

    deleter = threading.Thread(target=delete_once_children_run, daemon=True)
    deleter.start()
    try:
        result, run_ = run(tuned, {"tuning": TUNING}, tmp_path, "deleted")
    finally:
        deleter.join(timeout=30)
        tuned.clear_faults()
    assert run_.state == "failed"
    assert run_.task_states["wait_tuning"] == "failed"
    log = text(result)
    assert "is being deleted" in log or "was deleted while waiting" in log
    name = STATE["tuning_job"]
    wait_for(
        lambda: (
            sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
                "HyperParameterTuningJobStatus"
            ]
            == "Stopped"
        ),
        timeout=60,
        what="the tuning job to stop",
    )
    jobs = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert {j["TrainingJobStatus"] for j in jobs["TrainingJobSummaries"]} == {"Stopped"}
    remaining = {h["metadata"]["name"] for h in custom_objects(tuned, "hyperparametertuningjobs")}
    assert remaining == before  # the deleted CR is gone (its finalizer released once stopped)
