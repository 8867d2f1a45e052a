"""Lifecycle, in-process API, kubeconfig and thread safety (bullets 9 and 10)."""

from __future__ import annotations

import threading

import pytest
import yaml

from sandbox.kube import KubeApiError, KubeApiServer, write_kubeconfig
from tests.sandbox.kube.kube_helpers import GROUP, LEGACY_CRDS, TJ, Http, port_closed, trainingjob


def test_nothing_bound_until_start_and_stop_is_idempotent():
    srv = KubeApiServer(host="127.0.0.1", port=0)
    with pytest.raises(RuntimeError):
        _ = srv.url
    srv.start()
    assert srv.url.startswith("http://127.0.0.1:") and srv.port > 0
    assert Http(srv.url).get("/version").status == 200
    port = srv.port
    srv.stop()
    srv.stop()
    assert not srv._thread.is_alive() and port_closed("127.0.0.1", port)


def test_stop_before_start_and_context_manager():
    KubeApiServer().stop()
    with KubeApiServer() as srv:
        assert srv.running
    assert not srv.running


def test_plain_port_authentication(api):
    # Unknown bearer tokens are refused; like kube-apiserver's old insecure port, a request without
    # credentials (kubectl never sends them over http://) is the unsecured admin (see test_kube_rbac.py).
    assert api.get("/api/v1/namespaces", headers={"Authorization": "Bearer whatever"}).status == 401
    assert api.get("/api/v1/namespaces", headers={"Authorization": "Basic Zm9vOmJhcg=="}).status == 200
    assert api.get("/api/v1/namespaces").status == 200


def test_in_process_api_matches_http(kube, api):
    ns = kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}})
    assert ns["status"]["phase"] == "Active"
    obj = trainingjob("a")
    obj["metadata"]["namespace"] = "ml"
    created = kube.apply(obj)
    assert created["metadata"]["generation"] == 1
    assert api.get(f"/apis/{GROUP}/v1/namespaces/ml/trainingjobs/a").body == created
    obj["spec"]["region"] = "eu-west-1"
    replaced = kube.apply(obj)
    assert (
        replaced["metadata"]["generation"] == 2 and replaced["metadata"]["uid"] == created["metadata"]["uid"]
    )
    assert kube.get(f"{GROUP}/v1", "trainingjobs", "a", namespace="ml")["spec"]["region"] == "eu-west-1"
    assert kube.get(f"{GROUP}/v1", "trainingjobs", "zzz", namespace="ml") is None
    assert [o["metadata"]["name"] for o in kube.list(f"{GROUP}/v1", "TrainingJob")] == ["a"]
    assert (
        kube.list_objects("v1", "namespaces", label_selector="kubernetes.io/metadata.name=ml")[0]["metadata"][
            "name"
        ]
        == "ml"
    )
    with pytest.raises(KubeApiError) as err:
        kube.apply(trainingjob("bad", region=""))
    assert err.value.code == 422 and err.value.status["reason"] == "Invalid"
    with pytest.raises(KubeApiError) as err:
        kube.apply({**trainingjob("c"), "metadata": {"name": "c", "namespace": "nope"}})
    assert err.value.code == 404 and err.value.message == 'namespaces "nope" not found'
    with pytest.raises(KubeApiError) as err:
        kube.apply({"apiVersion": "example.com/v1", "kind": "Nothing", "metadata": {"name": "x"}})
    assert err.value.code == 404
    stale = dict(created)
    with pytest.raises(KubeApiError) as err:
        kube.apply(stale)
    assert err.value.code == 409


def test_apply_does_not_mutate_and_returns_copies(kube):
    obj = trainingjob("a")
    snapshot = yaml.safe_dump(obj)
    result = kube.apply(obj)
    assert yaml.safe_dump(obj) == snapshot
    result["spec"]["region"] = "mutated"
    assert kube.get(f"{GROUP}/v1", "TrainingJob", "a", "default")["spec"]["region"] == "us-west-2"


def test_apply_yaml_and_dir(tmp_path):
    with KubeApiServer() as srv:
        crds = srv.apply_dir(LEGACY_CRDS)
        assert len(crds) == 8
        manifest = tmp_path / "objs.yaml"
        manifest.write_text(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\ndata: {k: v}\n"
        )
        assert [o["kind"] for o in srv.apply_yaml(manifest)] == ["Namespace", "ConfigMap"]


def test_write_kubeconfig(tmp_path):
    path = write_kubeconfig(tmp_path / "sub" / "config", "http://127.0.0.1:1234", namespace="ml")
    cfg = yaml.safe_load(path.read_text())
    assert cfg["clusters"][0]["cluster"] == {"server": "http://127.0.0.1:1234"}
    assert cfg["contexts"][0]["context"] == {"cluster": "sandbox", "user": "sandbox", "namespace": "ml"}
    assert cfg["current-context"] == "sandbox" and cfg["users"][0]["user"] == {"token": "sandbox-token"}
    assert path.stat().st_mode & 0o777 == 0o600


def test_concurrent_writers_http_and_in_process(kube, api):
    """Many threads write through HTTP and in-process at once; RVs stay unique and watchers see all."""
    n = 20
    errors: list[BaseException] = []
    with api.watch("/api/v1/namespaces/default/configmaps", {"resourceVersion": "1"}) as w:

        def http_writer(i):
            try:
                for j in range(n):
                    assert (
                        api.post(
                            "/api/v1/namespaces/default/configmaps", {"metadata": {"name": f"h{i}-{j}"}}
                        ).status
                        == 201
                    )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def local_writer(i):
            try:
                for j in range(n):
                    kube.apply(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": f"l{i}-{j}", "namespace": "default"},
                        }
                    )
            except BaseException as exc:  # pragma: no cover
                errors.append(exc)

        threads = [
            threading.Thread(target=f, args=(i,)) for i in range(3) for f in (http_writer, local_writer)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        events = w.take(6 * n)
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)
    assert len(api.get("/api/v1/namespaces/default/configmaps").body["items"]) == 6 * n
    assert api.get(TJ).status == 200
