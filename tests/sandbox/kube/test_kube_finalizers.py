"""Bullet 6: finalizers, deletionTimestamp, namespace and CRD deletion, owner-reference GC."""

from __future__ import annotations

from tests.sandbox.kube.kube_helpers import GROUP, TJ, trainingjob

FIN = "sagemaker.aws.amazon.com/finalizer"


def _with_finalizer(name: str) -> dict:
    obj = trainingjob(name)
    obj["metadata"]["finalizers"] = [FIN]
    return obj


def test_delete_without_finalizers_is_immediate(api):
    api.post(TJ, trainingjob("a"))
    with api.watch(TJ, {"resourceVersion": api.get(TJ).body["metadata"]["resourceVersion"]}) as w:
        resp = api.delete(
            f"{TJ}/a", {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}
        )
        assert resp.status == 200
        assert w.next()["type"] == "DELETED"
    assert api.get(f"{TJ}/a").status == 404


def test_delete_with_finalizers_marks_then_removal_of_last_finalizer_deletes(api):
    created = api.post(TJ, _with_finalizer("a")).body
    with api.watch(TJ, {"resourceVersion": created["metadata"]["resourceVersion"]}) as w:
        resp = api.delete(f"{TJ}/a", query={"propagationPolicy": "Background"})
        assert resp.status == 200
        meta = resp.body["metadata"]
        assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
        assert meta["generation"] == created["metadata"]["generation"] + 1
        assert meta["finalizers"] == [FIN]
        event = w.next()
        assert event["type"] == "MODIFIED" and event["object"]["metadata"]["deletionTimestamp"]
        assert api.get(f"{TJ}/a").status == 200
        again = api.delete(f"{TJ}/a")
        assert (
            again.status == 200 and again.body["metadata"]["deletionTimestamp"] == meta["deletionTimestamp"]
        )
        # spec and status writes still work while terminating
        assert api.patch(f"{TJ}/a/status", {"status": {"trainingJobStatus": "Stopping"}}).status == 200
        assert w.next()["type"] == "MODIFIED"
        resp = api.patch(f"{TJ}/a", {"metadata": {"finalizers": None}})
        assert resp.status == 200
        # as with etcd: the update (finalizers gone) is written, then the object is deleted
        assert [e["type"] for e in w.take(2)] == ["MODIFIED", "DELETED"]
    assert api.get(f"{TJ}/a").status == 404


def test_no_new_finalizers_while_deleting(api):
    api.post(TJ, _with_finalizer("a"))
    api.delete(f"{TJ}/a")
    resp = api.patch(f"{TJ}/a", {"metadata": {"finalizers": [FIN, "example.com/other"]}})
    assert resp.status == 422 and resp.body["reason"] == "Invalid"
    assert resp.body["message"] == (
        f'TrainingJob.{GROUP} "a" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added '
        'if the object is being deleted, found new finalizers []string{"example.com/other"}'
    )
    assert resp.body["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "field": "metadata.finalizers",
            "message": "Forbidden: no new finalizers can be added if the object is being deleted, found new "
            'finalizers []string{"example.com/other"}',
        }
    ]
    json_patch = [{"op": "remove", "path": "/metadata/finalizers/0"}]
    assert api.patch(f"{TJ}/a", json_patch, "json").status == 200
    assert api.get(f"{TJ}/a").status == 404


def test_put_removing_finalizers_deletes(api):
    api.post(TJ, _with_finalizer("a"))
    current = api.delete(f"{TJ}/a").body
    current["metadata"]["finalizers"] = []
    assert api.put(f"{TJ}/a", current).status == 200
    assert api.get(f"{TJ}/a").status == 404


def test_delete_preconditions(api):
    created = api.post(TJ, trainingjob("a")).body
    resp = api.delete(f"{TJ}/a", {"preconditions": {"uid": "not-the-uid"}})
    assert resp.status == 409 and "Precondition failed: UID in precondition" in resp.body["message"]
    resp = api.delete(
        f"{TJ}/a",
        {
            "preconditions": {
                "uid": created["metadata"]["uid"],
                "resourceVersion": created["metadata"]["resourceVersion"],
            }
        },
    )
    assert resp.status == 200


def test_delete_dry_run_keeps_object(api):
    api.post(TJ, trainingjob("a"))
    assert api.delete(f"{TJ}/a", query={"dryRun": "All"}).status == 200
    assert api.get(f"{TJ}/a").status == 200


def test_delete_collection(api):
    for name in ("a", "b", "c"):
        obj = trainingjob(name)
        obj["metadata"]["labels"] = {"batch": "1" if name != "c" else "2"}
        api.post(TJ, obj)
    assert api.delete(TJ, query={"labelSelector": "batch=1"}).status == 200
    assert [i["metadata"]["name"] for i in api.get(TJ).body["items"]] == ["c"]


def test_namespace_deletion_removes_contents_and_waits_for_finalizers(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "jobs"}})
    ns_tj = f"/apis/{GROUP}/v1/namespaces/jobs/trainingjobs"
    api.post(ns_tj, trainingjob("plain"))
    api.post(ns_tj, _with_finalizer("held"))
    api.post("/api/v1/namespaces/jobs/configmaps", {"metadata": {"name": "cm"}})
    resp = api.delete("/api/v1/namespaces/jobs")
    assert resp.status == 200 and resp.body["status"]["phase"] == "Terminating"
    assert resp.body["metadata"]["deletionTimestamp"]
    assert api.get("/api/v1/namespaces/jobs/configmaps/cm").status == 404
    assert api.get(f"{ns_tj}/plain").status == 404
    assert api.get(f"{ns_tj}/held").body["metadata"]["deletionTimestamp"]
    assert api.get("/api/v1/namespaces/jobs").body["status"]["phase"] == "Terminating"
    refused = api.post(ns_tj, trainingjob("new"))
    assert refused.status == 403 and refused.body["reason"] == "Forbidden"
    assert "because it is being terminated" in refused.body["message"]
    api.patch(f"{ns_tj}/held", {"metadata": {"finalizers": None}})
    assert api.get(f"{ns_tj}/held").status == 404
    assert api.get("/api/v1/namespaces/jobs").status == 404


def test_crd_deletion_deletes_its_objects(api):
    api.post(TJ, trainingjob("a"))
    api.post(TJ, _with_finalizer("b"))
    resp = api.delete(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/trainingjobs.{GROUP}")
    assert resp.status == 200
    assert api.get(TJ).status == 404
    assert "trainingjobs" not in {r["name"] for r in api.get(f"/apis/{GROUP}/v1").body["resources"]}
    assert api.get(f"/apis/{GROUP}/v1/hostingdeployments").status == 200


def test_owner_reference_garbage_collection(kube, api):
    owner = api.post(TJ, trainingjob("owner")).body
    ref = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "TrainingJob",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    api.post(
        "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "child", "ownerReferences": [ref]}}
    )
    api.post(
        "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "orphan", "ownerReferences": [ref]}}
    )
    api.delete(f"{TJ}/owner")
    assert api.get("/api/v1/namespaces/default/configmaps/child").status == 404
    owner2 = api.post(TJ, trainingjob("owner2")).body
    ref2 = dict(ref, name="owner2", uid=owner2["metadata"]["uid"])
    api.post(
        "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "kept", "ownerReferences": [ref2]}}
    )
    api.delete(f"{TJ}/owner2", query={"propagationPolicy": "Orphan"})
    assert api.get("/api/v1/namespaces/default/configmaps/kept").status == 200


def test_in_process_delete(kube):
    obj = _with_finalizer("a")
    obj["metadata"]["namespace"] = "default"
    kube.apply(obj)
    kept = kube.delete(f"{GROUP}/v1", "TrainingJob", "a", namespace="default")
    assert kept["metadata"]["deletionTimestamp"]
    kube.patch(f"{GROUP}/v1", "trainingjobs", "a", {"metadata": {"finalizers": None}}, namespace="default")
    assert kube.get(f"{GROUP}/v1", "trainingjob", "a", namespace="default") is None
    assert kube.delete(f"{GROUP}/v1", "trainingjobs", "a", namespace="default") is None
