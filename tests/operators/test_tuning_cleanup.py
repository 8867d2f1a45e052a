"""After the tuning wait, on fake hooks: cleanup of an unwatched tuning (or training) CR, its kind from
the role and the submit task's flavour, and retention of tuning CRs (no servers)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from sagemaker_k8s.exceptions import KubeNotFound
from sagemaker_k8s.manifests.flavours import (
    ACK_HPO_JOB,
    ACK_TRAINING_JOB,
    LEGACY_HPO_JOB,
    LEGACY_TRAINING_JOB,
)
from sagemaker_k8s.operators.cleanup import SageMakerK8sCleanupOperator
from sagemaker_k8s.operators.retention import SageMakerK8sRetentionOperator
from sagemaker_k8s.promotion.record import CHAMPION, PREVIOUS_CHAMPION, ModelRecord
from tests.operators.fakes import DAG_ID, FakeAws, FakeKube, FakeTI, config, context, wire
from tests.operators.test_promotion_operators import (
    serving_cr,  # the serving CR carrying the champion records
)
from tests.operators.test_tuning_operators import CR, HPO, KIND, M, hpo_status, submit


# -- cleanup_tuning ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flavour", "state", "wait_state", "deleted"),
    [("legacy", "InProgress", "failed", True), ("legacy", "InProgress", "success", False),
     ("legacy", "Completed", "failed", False), ("legacy", "Failed", "upstream_failed", False),
     ("legacy", "ReconcilingTuningJob", "failed", True),
     ("ack", "InProgress", "failed", True), ("ack", "InProgress", "success", False),
     ("ack", "Completed", "failed", False), ("ack", "Stopped", "upstream_failed", False),
     ("ack", None, "failed", True)],
)  # fmt: skip
def test_cleanup_deletes_an_unwatched_running_tuning_cr(flavour, state, wait_state, deleted):
    kube = FakeKube()
    _, submitted, _ = submit(kube, flavour, tuning={})
    if state:
        kube.objects[(HPO, "default", CR)]["status"] = hpo_status(state, best=None, flavour=flavour)
    else:  # acknowledged (the controller's finalizer) before any status
        kube.objects[(HPO, "default", CR)]["metadata"]["finalizers"] = [
            "finalizers.sagemaker.services.k8s.aws/HyperParameterTuningJob"
        ]
    op = SageMakerK8sCleanupOperator(task_id="cleanup_tuning", submit_task_id="submit_tuning",
                                     wait_task_id="wait_tuning", role="tuning")  # fmt: skip
    op.hook = kube
    ti = FakeTI({("submit_tuning", "return_value"): submitted}, {"wait_tuning": wait_state})
    result = op.execute(context(ti))
    assert op.kind is KIND[flavour]
    assert result["deleted"] is deleted and ((HPO, "default", CR) in kube.objects) is not deleted
    if deleted:
        assert result["reason"].startswith(f"wait_tuning ended {wait_state} while {KIND[flavour].kind}")


@pytest.mark.parametrize(
    ("role", "xcom_flavour", "kind"),
    [("training", None, LEGACY_TRAINING_JOB), ("training", "legacy", LEGACY_TRAINING_JOB),
     ("training", "ack", ACK_TRAINING_JOB), ("tuning", None, LEGACY_HPO_JOB),
     ("tuning", "legacy", LEGACY_HPO_JOB), ("tuning", "ack", ACK_HPO_JOB)],
)  # fmt: skip
def test_cleanup_takes_its_kind_from_the_role_and_the_submit_tasks_flavour(role, xcom_flavour, kind):
    """An XCom from before ACK support has no ``flavour``: legacy."""
    submitted = {"name": "cr", "namespace": "default", **({"flavour": xcom_flavour} if xcom_flavour else {})}
    kube = FakeKube()
    kube.put(kind.plural, {"apiVersion": kind.api_version, "kind": kind.kind,
                           "metadata": {"name": "cr", "namespace": "default"}})  # fmt: skip
    op = SageMakerK8sCleanupOperator(task_id="c", submit_task_id="submit", wait_task_id="wait", role=role)
    op.hook = kube
    result = op.execute(context(FakeTI({("submit", "return_value"): submitted}, {"wait": "failed"})))
    assert op.kind is kind
    assert result["deleted"] is True and result["reason"].startswith(f"wait ended failed while {kind.kind}")


def test_cleanup_roles():
    assert SageMakerK8sCleanupOperator(task_id="c").kind is LEGACY_TRAINING_JOB  # nothing read yet
    with pytest.raises(ValueError, match="role must be one of"):
        SageMakerK8sCleanupOperator(task_id="c", role="LEGACY_HPO_JOB")
    op = SageMakerK8sCleanupOperator(task_id="c", submit_task_id="submit_tuning", role="tuning")
    with pytest.raises(AirflowSkipException):
        op.execute(context(FakeTI()))  # the training branch ran: no tuning CR


# -- retention ---------------------------------------------------------------------------------------
def tuning_cr(name: str, day: int, state: str = "Completed") -> dict:
    labels = {"airflow.apache.org/dag-id": DAG_ID, "airflow.apache.org/task-id": "submit_tuning"}
    meta = {"name": name, "namespace": "default", "labels": labels,
            "creationTimestamp": f"2026-11-{day:02d}T00:00:00Z"}  # fmt: skip
    job = f"{name}-tj"
    status = {"hyperParameterTuningJobStatus": state, "sageMakerHyperParameterTuningJobName": job,
              "bestTrainingJob": {"trainingJobName": f"{job}-001-0123abcd"}}  # fmt: skip
    return {"metadata": meta, "spec": {"hyperParameterTuningJobName": job}, "status": status}


def retention(kube: FakeKube, **kwargs):
    champion = ModelRecord(
        "h2-tj-001-0123abcd", "h2-tj-001-0123abcd", "s3://b/m", M, 0.1, "r", tuning_job="h2-tj"
    )
    previous = ModelRecord("h1-tj-004-89abcdef", "h1-tj-004-89abcdef", "s3://b/m", M, 0.2, "r")
    kube.put(
        "hostingdeployments",
        serving_cr({CHAMPION: champion.to_json(), PREVIOUS_CHAMPION: previous.to_json()}),
    )
    op = SageMakerK8sRetentionOperator(task_id="retain_training_jobs", config=config(keep_training_jobs=2),
                                       submit_task_id="submit_training", **kwargs)  # fmt: skip
    return wire(op, kube, FakeAws()).execute(context())


def test_retention_retires_old_finished_tuning_crs_but_never_a_champions_or_a_running_one():
    kube = FakeKube()
    states = ["Completed", "Completed", "Failed", "InProgress", "Completed", "Completed"]
    for day, state in enumerate(states, start=1):
        kube.put(HPO, tuning_cr(f"h{day}", day, state))
    other = tuning_cr("someone-elses", 1)
    other["metadata"]["labels"]["airflow.apache.org/dag-id"] = "other_dag"
    kube.put(HPO, other)
    result = retention(kube, tuning_submit_task_id="submit_tuning")
    # newest two kept (h6, h5); h4 running; h2 the champion's; h1 holds the previous champion's child
    assert result["deleted_tuning"] == ["h3"] and result["kept_tuning"] == 5
    assert result["deleted"] == []
    assert {n for (p, _, n) in kube.objects if p == HPO} == {"h1", "h2", "h4", "h5", "h6", "someone-elses"}


def test_retention_without_tuning_task_leaves_tuning_crs_alone():
    kube = FakeKube()
    for day in range(1, 5):
        kube.put(HPO, tuning_cr(f"old{day}", day))
    result = retention(kube)
    assert "deleted_tuning" not in result and len([k for k in kube.objects if k[0] == HPO]) == 4


def test_retention_on_a_cluster_without_the_tuning_crd():
    class NoTuningCrd(FakeKube):
        def list(self, kind, namespace, label_selector=""):
            if kind is LEGACY_HPO_JOB:
                raise KubeNotFound("the server could not find the requested resource", status=404)
            return super().list(kind, namespace, label_selector)

    result = retention(NoTuningCrd(), tuning_submit_task_id="submit_tuning")
    assert (result["deleted_tuning"], result["kept_tuning"]) == ([], 0)
