"""Endpoint ownership: the pipeline's own, free, or refused with the exact fix."""

from __future__ import annotations

from sagemaker_k8s.promotion.ownership import check_ownership

DAG = "sagemaker_xgboost_mnist"


def hd(name: str, endpoint: str, dag: str | None = DAG, *, label_only: bool = False) -> dict:
    meta = {"name": name, "namespace": "default", "annotations": {}, "labels": {}}
    if dag:
        meta["labels" if label_only else "annotations"]["airflow.apache.org/dag-id"] = dag
    return {"metadata": meta, "spec": {"endpointName": endpoint}}


def check(serving=None, claimants=(), exists=False):
    return check_ownership(
        dag_id=DAG, endpoint_name="ep", serving=serving, claimants=list(claimants), endpoint_exists=exists
    )


def test_free_endpoint():
    verdict = check()
    assert verdict.ok and "free" in verdict.detail


def test_own_cr():
    own = hd("ep", "ep")
    assert check(own, [own], exists=True).ok
    assert check(hd("ep", "ep", label_only=True), exists=True).ok  # the label alone also says so


def test_someone_elses_cr_is_refused_with_an_explicit_handover():
    verdict = check(hd("ep", "ep", "other_dag"), [hd("ep", "ep", "other_dag")], exists=True)
    assert not verdict.ok and "other_dag" in verdict.detail
    assert "kubectl annotate hostingdeployment ep -n default" in verdict.fix
    assert "airflow.apache.org/dag-id=sagemaker_xgboost_mnist" in verdict.fix


def test_unlabelled_cr_is_refused():
    verdict = check(hd("ep", "ep", None), exists=True)
    assert not verdict.ok and "no Airflow DAG" in verdict.detail


def test_second_cr_claiming_the_endpoint_is_refused():
    old = hd("sagemaker-xgboost-mnis-deploy-endpoint-x", "ep")
    verdict = check(hd("ep", "ep"), [hd("ep", "ep"), old], exists=True)
    assert not verdict.ok and old["metadata"]["name"] in verdict.detail
    assert (
        verdict.fix.startswith("delete it")
        and f"kubectl delete hostingdeployment {old['metadata']['name']}" in verdict.fix
    )


def test_endpoint_created_outside_is_refused():
    verdict = check(exists=True)
    assert not verdict.ok and "no HostingDeployment manages it" in verdict.detail
    assert "aws sagemaker delete-endpoint --endpoint-name ep" in verdict.fix


def test_ack_refusals_name_the_ack_kind_fully_qualified():
    from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT

    theirs = {
        "metadata": {
            "name": "ep",
            "namespace": "default",
            "annotations": {"airflow.apache.org/dag-id": "other_dag"},
        }
    }
    verdict = check_ownership(
        dag_id=DAG,
        endpoint_name="ep",
        serving=theirs,
        claimants=[theirs],
        endpoint_exists=True,
        kind=ACK_ENDPOINT,
    )
    assert not verdict.ok
    assert "kubectl annotate endpoints.sagemaker.services.k8s.aws ep -n default" in verdict.fix
    free = check_ownership(
        dag_id=DAG, endpoint_name="ep", serving=None, claimants=[], endpoint_exists=True, kind=ACK_ENDPOINT
    )
    assert "no Endpoint manages it" in free.detail
