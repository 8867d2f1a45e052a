"""Bullet 3: the status subresource and metadata.generation rules."""

from __future__ import annotations

from tests.sandbox.kube.kube_helpers import GROUP, LEGACY_CRDS, TJ, load_crd, trainingjob


def _create(api, name="a"):
    resp = api.post(TJ, trainingjob(name))
    assert resp.status == 201, resp.body
    return resp.body


def test_status_dropped_on_create_when_subresource_enabled(api):
    obj = trainingjob("a")
    obj["status"] = {"trainingJobStatus": "Completed"}
    assert "status" not in api.post(TJ, obj).body


def test_status_put_changes_only_status(api):
    created = _create(api)
    body = dict(created)
    body["spec"] = dict(created["spec"], region="eu-west-1")
    body["metadata"] = dict(created["metadata"], labels={"ignored": "yes"})
    body["status"] = {"trainingJobStatus": "InProgress", "secondaryStatus": "Starting"}
    resp = api.put(f"{TJ}/a/status", body)
    assert resp.status == 200, resp.body
    assert resp.body["status"] == {"trainingJobStatus": "InProgress", "secondaryStatus": "Starting"}
    assert resp.body["spec"]["region"] == "us-west-2"
    assert "labels" not in resp.body["metadata"]
    assert resp.body["metadata"]["generation"] == 1
    assert int(resp.body["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert api.get(f"{TJ}/a/status").body["status"]["secondaryStatus"] == "Starting"


def test_status_patch_and_stale_status_put(api):
    created = _create(api)
    resp = api.patch(
        f"{TJ}/a/status", {"status": {"trainingJobStatus": "Completed"}, "spec": {"region": "x"}}
    )
    assert (
        resp.body["status"] == {"trainingJobStatus": "Completed"}
        and resp.body["spec"]["region"] == "us-west-2"
    )
    stale = dict(created, status={"trainingJobStatus": "Failed"})
    assert api.put(f"{TJ}/a/status", stale).status == 409


def test_main_resource_ignores_status(api):
    _create(api)
    api.patch(f"{TJ}/a/status", {"status": {"trainingJobStatus": "InProgress"}})
    current = api.get(f"{TJ}/a").body
    current["status"] = {"trainingJobStatus": "Hacked"}
    assert api.put(f"{TJ}/a", current).body["status"] == {"trainingJobStatus": "InProgress"}
    resp = api.patch(f"{TJ}/a", {"status": {"trainingJobStatus": "Hacked"}})
    assert resp.body["status"] == {"trainingJobStatus": "InProgress"}


def test_generation_bumps_only_on_spec_changes(api):
    created = _create(api)
    rv = int(created["metadata"]["resourceVersion"])
    meta_only = api.patch(f"{TJ}/a", {"metadata": {"labels": {"team": "ml"}, "annotations": {"a": "b"}}}).body
    assert meta_only["metadata"]["generation"] == 1
    assert int(meta_only["metadata"]["resourceVersion"]) > rv
    status_only = api.patch(f"{TJ}/a/status", {"status": {"trainingJobStatus": "InProgress"}}).body
    assert status_only["metadata"]["generation"] == 1
    spec = api.patch(f"{TJ}/a", {"spec": {"region": "eu-west-1"}}).body
    assert spec["metadata"]["generation"] == 2
    same = api.patch(f"{TJ}/a", {"spec": {"region": "eu-west-1"}}).body
    assert same["metadata"]["generation"] == 2
    assert same["metadata"]["resourceVersion"] == spec["metadata"]["resourceVersion"], (
        "no-op writes are no-ops"
    )


def test_without_status_subresource_status_is_ordinary(kube, api):
    crd = load_crd(LEGACY_CRDS / "models.yaml")
    crd["metadata"]["name"] = "plainmodels.example.com"
    crd["spec"]["group"] = "example.com"
    crd["spec"]["names"] = {"kind": "PlainModel", "plural": "plainmodels"}
    for version in crd["spec"]["versions"]:
        version.pop("subresources", None)
    kube.apply(crd)
    path = "/apis/example.com/v1/namespaces/default/plainmodels"
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "PlainModel",
        "metadata": {"name": "m"},
        "spec": {
            "region": "us-west-2",
            "executionRoleArn": "arn:aws:iam::123456789012:role/x",
            "primaryContainer": {"containerHostname": "c"},
        },
        "status": {"status": "Created"},
    }
    created = api.post(path, obj)
    assert created.status == 201, created.body
    assert created.body["status"] == {"status": "Created"}
    assert api.get(f"{path}/m/status").status == 404
    patched = api.patch(f"{path}/m", {"status": {"status": "Deleting"}}).body
    assert patched["status"] == {"status": "Deleting"}
    assert patched["metadata"]["generation"] == 2, "status is part of the content without the subresource"


def test_status_write_is_validated_against_status_schema(api):
    _create(api)
    resp = api.patch(f"{TJ}/a/status", {"status": {"lastCheckTime": "yesterday"}})
    assert resp.status == 422
    assert resp.body["details"]["causes"][0]["field"] == "status.lastCheckTime"
    ok = api.patch(f"{TJ}/a/status", {"status": {"lastCheckTime": "2024-01-02T03:04:05Z", "unknownThing": 1}})
    assert ok.status == 200 and ok.body["status"] == {"lastCheckTime": "2024-01-02T03:04:05Z"}


def test_in_process_apply_writes_status_like_a_controller(kube):
    obj = trainingjob("a")
    obj["metadata"]["namespace"] = "default"
    obj["status"] = {"trainingJobStatus": "InProgress"}
    stored = kube.apply(obj)
    assert stored["status"] == {"trainingJobStatus": "InProgress"}
    del obj["status"]
    assert kube.apply(obj)["status"] == {"trainingJobStatus": "InProgress"}, "no status key keeps the status"
    res = kube.apply(
        {
            "apiVersion": f"{GROUP}/v1",
            "kind": "TrainingJob",
            "metadata": {"name": "a"},
            "status": {"trainingJobStatus": "Completed"},
        },
        subresource="status",
    )
    assert res["status"] == {"trainingJobStatus": "Completed"} and res["spec"]["region"] == "us-west-2"
