"""The official sync ``kubernetes`` client against the emulator, through a kubeconfig."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from sandbox.kube import KubeApiServer, write_kubeconfig
from tests.sandbox.kube.kube_helpers import GROUP, LEGACY_CRDS, load_crd, trainingjob, wait_until


@pytest.fixture
def k8s(kube, tmp_path):
    path = write_kubeconfig(tmp_path / "kubeconfig", kube.url, namespace="default")
    api_client = config.new_client_from_config(config_file=str(path))
    yield api_client
    api_client.close()


def test_custom_objects_crud(k8s):
    co = client.CustomObjectsApi(k8s)
    created = co.create_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", trainingjob("a"))
    assert created["metadata"]["generation"] == 1
    got = co.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    patched = co.patch_namespaced_custom_object(
        GROUP, "v1", "default", "trainingjobs", "a", {"metadata": {"labels": {"team": "ml"}}}
    )
    assert patched["metadata"]["labels"] == {"team": "ml"}
    status = co.patch_namespaced_custom_object_status(
        GROUP, "v1", "default", "trainingjobs", "a", {"status": {"trainingJobStatus": "InProgress"}}
    )
    assert status["status"]["trainingJobStatus"] == "InProgress"
    got["spec"]["region"] = "eu-west-1"
    with pytest.raises(ApiException) as err:  # stale resourceVersion
        co.replace_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a", got)
    assert err.value.status == 409
    current = co.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
    current["spec"]["region"] = "eu-west-1"
    replaced = co.replace_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a", current)
    assert replaced["metadata"]["generation"] == 2
    current = co.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
    current["status"] = {"trainingJobStatus": "Completed"}
    co.replace_namespaced_custom_object_status(GROUP, "v1", "default", "trainingjobs", "a", current)
    listing = co.list_namespaced_custom_object(
        GROUP, "v1", "default", "trainingjobs", label_selector="team=ml"
    )
    assert [i["status"]["trainingJobStatus"] for i in listing["items"]] == ["Completed"]
    assert co.list_cluster_custom_object(GROUP, "v1", "trainingjobs")["items"][0]["metadata"]["name"] == "a"
    json_patched = co.patch_namespaced_custom_object(
        GROUP,
        "v1",
        "default",
        "trainingjobs",
        "a",
        [{"op": "replace", "path": "/spec/region", "value": "x"}],
        _content_type="application/json-patch+json",
    )
    assert json_patched["spec"]["region"] == "x"
    with pytest.raises(ApiException) as err:  # a list sent as merge patch (the client's default) is refused
        co.patch_namespaced_custom_object(
            GROUP,
            "v1",
            "default",
            "trainingjobs",
            "a",
            [{"op": "replace", "path": "/spec/region", "value": "y"}],
        )
    assert err.value.status == 400
    co.delete_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
    with pytest.raises(ApiException) as err:
        co.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
    assert err.value.status == 404
    assert f'trainingjobs.{GROUP} \\"a\\" not found' in err.value.body or "not found" in err.value.body


def test_custom_objects_errors(k8s):
    co = client.CustomObjectsApi(k8s)
    bad = trainingjob("b")
    bad["spec"]["resourceConfig"]["instanceCount"] = 0
    with pytest.raises(ApiException) as err:
        co.create_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", bad)
    assert err.value.status == 422 and "greater than or equal to 1" in err.value.body
    with pytest.raises(ApiException) as err:
        co.create_namespaced_custom_object(GROUP, "v1", "nope", "trainingjobs", trainingjob("b"))
    assert err.value.status == 404
    co.create_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", trainingjob("b"))
    with pytest.raises(ApiException) as err:
        co.create_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", trainingjob("b"))
    assert err.value.status == 409


def test_core_and_apps(k8s):
    core = client.CoreV1Api(k8s)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="ml")))
    assert core.read_namespace("ml").status.phase == "Active"
    cm = core.create_namespaced_config_map(
        "ml", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={"a": "1"})
    )
    assert cm.metadata.uid
    patched = core.patch_namespaced_config_map("c", "ml", {"data": {"b": "2"}})  # sent as strategic merge
    assert patched.data == {"a": "1", "b": "2"}
    patched = core.patch_namespaced_config_map("c", "ml", [{"op": "remove", "path": "/data/a"}])  # json patch
    assert patched.data == {"b": "2"}
    core.create_namespaced_secret(
        "ml", client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"k": "v"})
    )
    core.create_namespaced_service_account(
        "ml", client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="sa"))
    )
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="p", labels={"app": "x"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
    )
    core.create_namespaced_pod("ml", pod)
    assert [p.metadata.name for p in core.list_namespaced_pod("ml", label_selector="app=x").items] == ["p"]
    assert core.read_namespaced_pod_status("p", "ml").status.phase == "Pending"
    core.create_namespaced_event(
        "ml",
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="e"),
            involved_object=client.V1ObjectReference(name="p"),
            reason="Started",
        ),
    )
    apps = client.AppsV1Api(k8s)
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="d"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": "d"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "d"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="img")]),
            ),
        ),
    )
    apps.create_namespaced_deployment("ml", dep)
    apps.patch_namespaced_deployment_scale(
        "d", "ml", {"spec": {"replicas": 3}}, _content_type="application/merge-patch+json"
    )
    assert apps.read_namespaced_deployment("d", "ml").spec.replicas == 3
    core.delete_namespace("ml")
    wait_until(lambda: "ml" not in [n.metadata.name for n in core.list_namespace().items], what="ns gone")


def test_apiextensions(k8s):
    ext = client.ApiextensionsV1Api(k8s)
    names = [c.metadata.name for c in ext.list_custom_resource_definition().items]
    assert f"trainingjobs.{GROUP}" in names
    crd = ext.read_custom_resource_definition(f"trainingjobs.{GROUP}")
    assert {c.type for c in crd.status.conditions} == {"Established", "NamesAccepted"}
    body = load_crd(LEGACY_CRDS / "models.yaml")
    body["metadata"]["name"] = "models.example.com"
    body["spec"]["group"] = "example.com"
    ext.create_custom_resource_definition(body)
    assert ext.read_custom_resource_definition("models.example.com").status.accepted_names.kind == "Model"
    ext.delete_custom_resource_definition("models.example.com")
    with pytest.raises(ApiException) as err:
        client.CustomObjectsApi(k8s).list_namespaced_custom_object("example.com", "v1", "default", "models")
    assert err.value.status == 404


def test_watch_stream(k8s, kube):
    co = client.CustomObjectsApi(k8s)
    seen: list[tuple[str, str]] = []
    ready = threading.Event()
    w = watch.Watch()

    def consume():
        for event in w.stream(
            co.list_namespaced_custom_object, GROUP, "v1", "default", "trainingjobs", timeout_seconds=10
        ):
            ready.set()
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                w.stop()

    co.create_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", trainingjob("first"))
    thread = threading.Thread(target=consume)
    thread.start()
    ready.wait(5)
    co.patch_namespaced_custom_object(
        GROUP, "v1", "default", "trainingjobs", "first", {"spec": {"region": "x"}}
    )
    co.delete_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "first")
    thread.join(10)
    assert seen == [("ADDED", "first"), ("MODIFIED", "first"), ("DELETED", "first")]


def test_watch_expired_raises_410(tmp_path):
    with KubeApiServer(history_size=2) as srv:
        for i in range(4):
            srv.apply(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"c{i}", "namespace": "default"},
                }
            )
        api_client = config.new_client_from_config(str(write_kubeconfig(tmp_path / "kc", srv.url)))
        try:
            w = watch.Watch()
            with pytest.raises(ApiException) as err:
                for _ in w.stream(
                    client.CoreV1Api(api_client).list_namespaced_config_map,
                    "default",
                    resource_version="1",
                    timeout_seconds=5,
                ):
                    pass
            assert err.value.status == 410
        finally:
            api_client.close()
