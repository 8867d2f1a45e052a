"""Bullet 2: CRUD over HTTP for custom resources, built-ins and cluster-scoped kinds; Status errors."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.sandbox.kube.kube_helpers import GROUP, TJ, trainingjob

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _status(resp, code: int, reason: str) -> dict:
    assert resp.status == code, resp.body
    body = resp.body
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason
    return body


def test_create_sets_server_fields(api):
    resp = api.post(TJ, trainingjob("a"))
    assert resp.status == 201
    meta = resp.body["metadata"]
    uuid.UUID(meta["uid"])
    assert int(meta["resourceVersion"]) > 0
    assert meta["generation"] == 1
    assert RFC3339.match(meta["creationTimestamp"])
    assert meta["namespace"] == "default"
    assert resp.body["apiVersion"] == f"{GROUP}/v1" and resp.body["kind"] == "TrainingJob"
    again = api.get(f"{TJ}/a").body
    assert again == resp.body


def test_resource_versions_increase_globally(api):
    rv1 = int(api.post(TJ, trainingjob("a")).body["metadata"]["resourceVersion"])
    rv2 = int(
        api.post(
            "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}, "data": {"k": "v"}}
        ).body["metadata"]["resourceVersion"]
    )
    rv3 = int(api.patch(f"{TJ}/a", {"metadata": {"labels": {"x": "y"}}}).body["metadata"]["resourceVersion"])
    assert rv1 < rv2 < rv3
    listing = api.get(TJ).body
    assert listing["kind"] == "TrainingJobList" and int(listing["metadata"]["resourceVersion"]) >= rv3


def test_list_get_update_delete_roundtrip(api):
    for name in ("b", "a", "c"):
        assert api.post(TJ, trainingjob(name)).status == 201
    listing = api.get(TJ).body
    assert [i["metadata"]["name"] for i in listing["items"]] == ["a", "b", "c"]
    assert listing["apiVersion"] == f"{GROUP}/v1"
    obj = api.get(f"{TJ}/b").body
    obj["spec"]["region"] = "eu-west-1"
    updated = api.put(f"{TJ}/b", obj)
    assert updated.status == 200 and updated.body["spec"]["region"] == "eu-west-1"
    assert updated.body["metadata"]["generation"] == 2
    deleted = api.delete(f"{TJ}/b")
    assert deleted.status == 200 and deleted.body["metadata"]["name"] == "b"
    body = _status(api.get(f"{TJ}/b"), 404, "NotFound")
    assert body["message"] == f'trainingjobs.{GROUP} "b" not found'
    assert body["details"] == {"name": "b", "group": GROUP, "kind": "trainingjobs"}


def test_all_namespaces_list(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    api.post(TJ, trainingjob("a"))
    api.post(f"/apis/{GROUP}/v1/namespaces/other/trainingjobs", trainingjob("a"))
    items = api.get(f"/apis/{GROUP}/v1/trainingjobs").body["items"]
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items] == [
        ("default", "a"),
        ("other", "a"),
    ]


def test_create_in_missing_namespace_is_404(api):
    body = _status(
        api.post(f"/apis/{GROUP}/v1/namespaces/nope/trainingjobs", trainingjob("a")), 404, "NotFound"
    )
    assert body["message"] == 'namespaces "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "namespaces"}


def test_already_exists_conflict_and_not_found_wording(api):
    api.post(TJ, trainingjob("a"))
    body = _status(api.post(TJ, trainingjob("a")), 409, "AlreadyExists")
    assert body["message"] == f'trainingjobs.{GROUP} "a" already exists'
    stale = api.get(f"{TJ}/a").body
    api.patch(f"{TJ}/a", {"metadata": {"labels": {"v": "2"}}})
    body = _status(api.put(f"{TJ}/a", stale), 409, "Conflict")
    assert body["message"] == (
        f'Operation cannot be fulfilled on trainingjobs.{GROUP} "a": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert body["details"]["name"] == "a"
    _status(api.put(f"{TJ}/zzz", trainingjob("zzz")), 404, "NotFound")
    _status(api.patch(f"{TJ}/zzz", {"spec": {}}), 404, "NotFound")
    _status(api.delete(f"{TJ}/zzz"), 404, "NotFound")
    body = _status(api.get("/api/v1/namespaces/default/configmaps/nope"), 404, "NotFound")
    assert body["message"] == 'configmaps "nope" not found'


def test_put_without_resource_version_is_unconditional(api):
    api.post(TJ, trainingjob("a"))
    obj = trainingjob("a", region="ap-south-1")
    assert api.put(f"{TJ}/a", obj).body["spec"]["region"] == "ap-south-1"


def test_name_mismatch_and_bad_requests(api):
    api.post(TJ, trainingjob("a"))
    body = _status(api.put(f"{TJ}/a", trainingjob("b")), 400, "BadRequest")
    assert "does not match the name on the URL" in body["message"]
    _status(api.request("POST", TJ, b"{not json"), 400, "BadRequest")
    _status(api.request("POST", f"{TJ}/a", trainingjob("a")), 405, "MethodNotAllowed")
    wrong = trainingjob("c")
    wrong["kind"] = "Model"
    _status(api.post(TJ, wrong), 400, "BadRequest")
    numeric = trainingjob("d")
    numeric["metadata"]["annotations"] = {"replicas": 3}
    body = _status(api.post(TJ, numeric), 400, "BadRequest")
    assert "cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations" in body["message"]


def test_generate_name(api):
    obj = trainingjob("x")
    del obj["metadata"]["name"]
    obj["metadata"]["generateName"] = "xgb-"
    names = {api.post(TJ, obj).body["metadata"]["name"] for _ in range(3)}
    assert len(names) == 3
    assert all(re.fullmatch(r"xgb-[a-z0-9]{5}", n) for n in names)


@pytest.mark.parametrize("verb", ["create", "update", "patch"])
def test_dry_run_stores_nothing(api, verb):
    if verb != "create":
        api.post(TJ, trainingjob("a"))
    before = api.get(TJ).body["metadata"]["resourceVersion"]
    if verb == "create":
        resp = api.post(TJ, trainingjob("a"), query={"dryRun": "All"})
        assert resp.status == 201 and resp.body["metadata"]["name"] == "a"
        assert api.get(f"{TJ}/a").status == 404
    elif verb == "update":
        resp = api.put(f"{TJ}/a", trainingjob("a", region="dry-1"), query={"dryRun": "All"})
        assert resp.status == 200 and resp.body["spec"]["region"] == "dry-1"
    else:
        resp = api.patch(f"{TJ}/a", {"spec": {"region": "dry-2"}}, query={"dryRun": "All"})
        assert resp.status == 200 and resp.body["spec"]["region"] == "dry-2"
    assert api.get(TJ).body["metadata"]["resourceVersion"] == before
    if verb != "create":
        assert api.get(f"{TJ}/a").body["spec"]["region"] == "us-west-2"
    bad = trainingjob(
        "b", resourceConfig={"instanceCount": 0, "instanceType": "ml.m5.large", "volumeSizeInGB": 1}
    )
    assert api.post(TJ, bad, query={"dryRun": "All"}).status == 422


def test_builtin_namespaced_crud(api):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    created = api.post("/api/v1/namespaces/default/configmaps", cm)
    assert created.status == 201 and "generation" not in created.body["metadata"]
    patched = api.patch("/api/v1/namespaces/default/configmaps/cfg", {"data": {"b": "2"}}, "strategic")
    assert patched.body["data"] == {"a": "1", "b": "2"}
    deleted = api.delete("/api/v1/namespaces/default/configmaps/cfg")
    assert deleted.status == 200 and deleted.body["status"] == "Success"
    assert deleted.body["details"]["name"] == "cfg"
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    resp = api.post("/apis/apps/v1/namespaces/default/deployments", dep)
    assert resp.status == 201 and resp.body["metadata"]["generation"] == 1
    scale = api.get("/apis/apps/v1/namespaces/default/deployments/web/scale").body
    assert (
        scale["kind"] == "Scale"
        and scale["spec"]["replicas"] == 2
        and scale["status"]["selector"] == "app=web"
    )
    resp = api.patch("/apis/apps/v1/namespaces/default/deployments/web/scale", {"spec": {"replicas": 0}})
    assert resp.status == 200 and resp.body["spec"]["replicas"] == 0
    assert api.get("/apis/apps/v1/namespaces/default/deployments/web").body["spec"]["replicas"] == 0
    for path, body in (
        ("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "v"}}),
        ("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "sa"}}),
        ("/api/v1/namespaces/default/events", {"metadata": {"name": "e"}, "reason": "Test"}),
        ("/api/v1/namespaces/default/pods", {"metadata": {"name": "p"}, "spec": {"containers": []}}),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            {"metadata": {"name": "r"}, "rules": []},
        ),
    ):
        assert api.post(path, body).status == 201, path
        assert api.get(f"{path}/{body['metadata']['name']}").status == 200


def test_cluster_scoped_kinds(api):
    resp = api.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    )
    assert resp.status == 201
    assert resp.body["status"] == {"phase": "Active"}
    assert resp.body["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team-a"
    assert "namespace" not in resp.body["metadata"]
    names = [n["metadata"]["name"] for n in api.get("/api/v1/namespaces").body["items"]]
    assert {"default", "kube-system", "kube-public", "team-a"} <= set(names)
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    path = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    assert api.post(path, role).status == 201
    assert api.get(f"{path}/system:reader").body["rules"][0]["verbs"] == ["get"]
    crds = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").body
    assert f"trainingjobs.{GROUP}" in {c["metadata"]["name"] for c in crds["items"]}
    assert api.get("/apis/apiextensions.k8s.io/v1/namespaces/default/customresourcedefinitions").status == 404
    _status(api.delete("/api/v1/namespaces/default"), 403, "Forbidden")
    _status(api.delete("/api/v1/namespaces"), 405, "MethodNotAllowed")


def test_list_pagination(api):
    for i in range(5):
        api.post(TJ, trainingjob(f"j{i}"))
    page = api.get(TJ, query={"limit": 2}).body
    assert [i["metadata"]["name"] for i in page["items"]] == ["j0", "j1"]
    assert page["metadata"]["remainingItemCount"] == 3
    rest = api.get(TJ, query={"limit": 10, "continue": page["metadata"]["continue"]}).body
    assert [i["metadata"]["name"] for i in rest["items"]] == ["j2", "j3", "j4"]
    assert "continue" not in rest["metadata"]


def test_table_output_for_kubectl(api):
    api.post(TJ, trainingjob("a"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = api.get(TJ, headers={"Accept": accept}).body
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Status",
        "Secondary-Status",
        "Creation-Time",
        "Sagemaker-Job-Name",
    ]
    assert table["rows"][0]["cells"][0] == "a"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    single = api.get(f"{TJ}/a", headers={"Accept": accept}).body
    assert single["kind"] == "Table" and len(single["rows"]) == 1
