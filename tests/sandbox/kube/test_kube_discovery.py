"""Bullet 1: discovery documents, CRD-driven groups, v1beta1 rejection, OpenAPI v3 for kubectl."""

from __future__ import annotations

from tests.sandbox.kube.kube_helpers import ACK_CRDS, GROUP, LEGACY_CRDS, load_crd


def _resources(doc: dict) -> dict[str, dict]:
    return {r["name"]: r for r in doc["resources"]}


def test_version(api):
    resp = api.get("/version")
    assert resp.status == 200
    assert resp.body["major"] == "1" and resp.body["gitVersion"].startswith("v1.")


def test_core_api_versions_and_resources(api):
    assert api.get("/api").body["kind"] == "APIVersions"
    assert api.get("/api").body["versions"] == ["v1"]
    doc = api.get("/api/v1").body
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == "v1"
    res = _resources(doc)
    for plural in ("namespaces", "serviceaccounts", "pods", "configmaps", "secrets", "events"):
        assert plural in res, plural
    assert res["namespaces"]["namespaced"] is False
    assert res["pods"]["namespaced"] is True and res["pods"]["kind"] == "Pod"
    assert res["pods"]["shortNames"] == ["po"] and res["pods"]["singularName"] == "pod"
    assert set(res["configmaps"]["verbs"]) >= {"create", "get", "list", "watch", "patch", "update", "delete"}
    assert res["pods/status"]["verbs"] == ["get", "patch", "update"]


def test_group_list_contains_builtins_and_crd_groups(api):
    doc = api.get("/apis").body
    assert doc["kind"] == "APIGroupList"
    groups = {g["name"]: g for g in doc["groups"]}
    for name in (
        "apps",
        "apiextensions.k8s.io",
        "rbac.authorization.k8s.io",
        GROUP,
        "sagemaker.services.k8s.aws",
    ):
        assert name in groups, name
    assert groups[GROUP]["preferredVersion"] == {"groupVersion": f"{GROUP}/v1", "version": "v1"}
    assert "" not in groups


def test_group_and_group_version_documents(api):
    group = api.get(f"/apis/{GROUP}").body
    assert group["kind"] == "APIGroup" and group["name"] == GROUP
    doc = api.get(f"/apis/{GROUP}/v1").body
    assert doc["groupVersion"] == f"{GROUP}/v1"
    res = _resources(doc)
    tj = res["trainingjobs"]
    assert tj == {
        "name": "trainingjobs",
        "singularName": "trainingjob",
        "namespaced": True,
        "kind": "TrainingJob",
        "verbs": tj["verbs"],
    }
    assert "watch" in tj["verbs"] and "deletecollection" in tj["verbs"]
    assert res["trainingjobs/status"]["kind"] == "TrainingJob"
    assert "hostingdeployments/status" in res
    apps = _resources(api.get("/apis/apps/v1").body)
    assert apps["deployments"]["shortNames"] == ["deploy"]
    assert apps["deployments/scale"]["kind"] == "Scale"
    rbac = _resources(api.get("/apis/rbac.authorization.k8s.io/v1").body)
    assert {"roles", "rolebindings", "clusterroles", "clusterrolebindings"} <= set(rbac)
    assert rbac["clusterroles"]["namespaced"] is False
    crd = _resources(api.get("/apis/apiextensions.k8s.io/v1").body)["customresourcedefinitions"]
    assert crd["namespaced"] is False and "crd" in crd["shortNames"]


def test_unknown_paths_are_404_status(api):
    for path in (
        "/apis/nope.example.com",
        "/apis/nope.example.com/v1",
        f"/apis/{GROUP}/v9",
        f"/apis/{GROUP}/v1/namespaces/default/nothings",
        "/bogus",
    ):
        resp = api.get(path)
        assert resp.status == 404, path
        assert resp.body["kind"] == "Status" and resp.body["reason"] == "NotFound"
        assert resp.body["message"] == "the server could not find the requested resource"


def test_crd_lifecycle_drives_discovery(kube, api):
    crd = load_crd(LEGACY_CRDS / "trainingjobs.yaml")
    crd["metadata"]["name"] = "widgets.example.com"
    crd["spec"]["group"] = "example.com"
    crd["spec"]["names"] = {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]}
    crd["spec"]["versions"][0]["name"] = "v1beta2"
    assert api.get("/apis/example.com/v1beta2").status == 404
    resp = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert resp.status == 201, resp.body
    status = resp.body["status"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Established": "True", "NamesAccepted": "True"}
    assert status["acceptedNames"]["kind"] == "Widget" and status["acceptedNames"]["listKind"] == "WidgetList"
    assert status["storedVersions"] == ["v1beta2"]
    groups = {g["name"] for g in api.get("/apis").body["groups"]}
    assert "example.com" in groups
    res = _resources(api.get("/apis/example.com/v1beta2").body)
    assert res["widgets"]["shortNames"] == ["wd"] and "widgets/status" in res
    # objects exist, then the CRD goes away with them
    widget = {"apiVersion": "example.com/v1beta2", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {}}
    assert api.post("/apis/example.com/v1beta2/namespaces/default/widgets", widget).status in (201, 422)
    assert (
        api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com").status
        == 200
    )
    assert "example.com" not in {g["name"] for g in api.get("/apis").body["groups"]}
    assert api.get("/apis/example.com/v1beta2").status == 404
    assert api.get("/apis/example.com/v1beta2/namespaces/default/widgets").status == 404


def test_v1beta1_crd_create_is_404(api):
    crd = load_crd(ACK_CRDS / "models.yaml")
    crd["apiVersion"] = "apiextensions.k8s.io/v1beta1"
    resp = api.post("/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions", crd)
    assert resp.status == 404
    assert resp.body["reason"] == "NotFound"


def test_aggregated_discovery_accept_falls_back_to_legacy_json(api):
    accept = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    )
    resp = api.get("/apis", headers={"Accept": accept})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.body["kind"] == "APIGroupList"


def test_openapi_v3_documents(api):
    root = api.get("/openapi/v3").body
    assert f"apis/{GROUP}/v1" in root["paths"] and "api/v1" in root["paths"]
    url = root["paths"][f"apis/{GROUP}/v1"]["serverRelativeURL"]
    doc = api.get(url).body
    patch = doc["paths"][f"/apis/{GROUP}/v1/namespaces/{{namespace}}/trainingjobs/{{name}}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": GROUP,
        "version": "v1",
        "kind": "TrainingJob",
    }
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert api.get("/openapi/v2").status == 404
    assert api.get("/openapi/v3/apis/nope.example.com/v1").status == 404
