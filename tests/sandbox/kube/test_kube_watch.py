"""Bullet 5 (watch): streaming events, replay, 410 Expired, timeouts, selectors, bookmarks."""

from __future__ import annotations

import time

from sandbox.kube import KubeApiServer
from tests.sandbox.kube.kube_helpers import GROUP, TJ, Http, trainingjob


def test_watch_without_rv_sends_synthetic_added_then_live_events(kube, api):
    api.post(TJ, trainingjob("a"))
    with api.watch(TJ) as w:
        assert w.status == 200
        assert w.headers["Transfer-Encoding"] == "chunked"
        first = w.next()
        assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "a"
        assert first["object"]["apiVersion"] == f"{GROUP}/v1"
        api.patch(f"{TJ}/a", {"metadata": {"labels": {"x": "1"}}})
        modified = w.next()
        assert modified["type"] == "MODIFIED" and modified["object"]["metadata"]["labels"] == {"x": "1"}
        kube.apply(trainingjob("b") | {"metadata": {"name": "b", "namespace": "default"}})  # in-process write
        assert w.next()["type"] == "ADDED"
        api.delete(f"{TJ}/a")
        deleted = w.next()
        assert deleted["type"] == "DELETED" and deleted["object"]["metadata"]["name"] == "a"
        assert int(deleted["object"]["metadata"]["resourceVersion"]) > int(
            modified["object"]["metadata"]["resourceVersion"]
        )


def test_watch_from_resource_version_replays(api):
    rv = api.post(TJ, trainingjob("a")).body["metadata"]["resourceVersion"]
    api.post(TJ, trainingjob("b"))
    api.patch(f"{TJ}/a", {"spec": {"region": "eu-west-1"}})
    api.delete(f"{TJ}/b")
    with api.watch(TJ, {"resourceVersion": rv}) as w:
        events = w.take(3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]


def test_watch_too_old_resource_version_is_410():
    with KubeApiServer(history_size=3) as srv:
        api = Http(srv.url)
        ns = api.post("/api/v1/namespaces", {"metadata": {"name": "w"}}).body
        for i in range(6):
            api.post("/api/v1/namespaces/w/configmaps", {"metadata": {"name": f"c{i}"}})
        with api.watch(
            "/api/v1/namespaces/w/configmaps", {"resourceVersion": ns["metadata"]["resourceVersion"]}
        ) as w:
            event = w.next()
            assert event["type"] == "ERROR"
            status = event["object"]
            assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"
            assert status["message"].startswith("too old resource version:")
            assert w.next() is None


def test_watch_timeout_seconds_ends_stream(api):
    started = time.monotonic()
    with api.watch(TJ, {"timeoutSeconds": "1"}) as w:
        assert w.next(timeout=5) is None
    assert 0.9 <= time.monotonic() - started < 4


def test_watch_label_selector_and_transitions(api):
    with api.watch(TJ, {"labelSelector": "app=xgb"}) as w:
        plain = trainingjob("a")
        api.post(TJ, plain)
        labelled = trainingjob("b")
        labelled["metadata"]["labels"] = {"app": "xgb"}
        api.post(TJ, labelled)
        assert (w.next()["type"], "b") == ("ADDED", "b")
        api.patch(f"{TJ}/a", {"metadata": {"labels": {"app": "xgb"}}})
        event = w.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "a")
        api.patch(f"{TJ}/b", {"metadata": {"labels": {"app": "rf"}}})
        event = w.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("DELETED", "b")


def test_watch_field_selector_and_named_watch_path(api):
    with api.watch(TJ, {"fieldSelector": "metadata.name=b"}) as w:
        api.post(TJ, trainingjob("a"))
        api.post(TJ, trainingjob("b"))
        assert w.next()["object"]["metadata"]["name"] == "b"
    with api.watch(f"/apis/{GROUP}/v1/watch/namespaces/default/trainingjobs/a", {"watch": "1"}) as w:
        assert w.next()["object"]["metadata"]["name"] == "a"
        api.patch(f"{TJ}/b", {"metadata": {"labels": {"z": "z"}}})
        api.patch(f"{TJ}/a", {"metadata": {"labels": {"z": "z"}}})
        event = w.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("MODIFIED", "a")


def test_watch_all_namespaces(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    with api.watch(f"/apis/{GROUP}/v1/trainingjobs", {"watch": "1"}) as w:
        api.post(TJ, trainingjob("a"))
        api.post(f"/apis/{GROUP}/v1/namespaces/other/trainingjobs", trainingjob("a"))
        events = w.take(2)
    assert [e["object"]["metadata"]["namespace"] for e in events] == ["default", "other"]


def test_namespaced_watch_ignores_other_namespaces(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    with api.watch(TJ) as w:
        api.post(f"/apis/{GROUP}/v1/namespaces/other/trainingjobs", trainingjob("x"))
        api.post(TJ, trainingjob("y"))
        assert w.next()["object"]["metadata"]["name"] == "y"


def test_watch_bookmarks(api):
    with api.watch(TJ, {"allowWatchBookmarks": "true", "resourceVersion": "1"}) as w:
        event = w.next(timeout=5)
        while event["type"] != "BOOKMARK":
            event = w.next(timeout=5)
        assert event["object"]["kind"] == "TrainingJob"
        assert int(event["object"]["metadata"]["resourceVersion"]) > 1


def test_watch_send_initial_events(api):
    api.post(TJ, trainingjob("a"))
    query = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }
    with api.watch(TJ, query) as w:
        assert w.next()["type"] == "ADDED"
        bookmark = w.next()
        assert bookmark["type"] == "BOOKMARK"
        assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_table_events(api):
    api.post(TJ, trainingjob("a"))
    with api.watch(
        TJ, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    ) as w:
        event = w.next()
    assert event["type"] == "ADDED" and event["object"]["kind"] == "Table"
    assert event["object"]["rows"][0]["cells"][0] == "a"


def test_crd_deletion_ends_watches(kube, api):
    with api.watch(f"/apis/{GROUP}/v1/hostingdeployments", {"watch": "true"}) as w:
        api.delete(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/hostingdeployments.{GROUP}")
        assert w.next() is None


def test_stop_closes_watch_connections():
    srv = KubeApiServer().start()
    api = Http(srv.url)
    w = api.watch("/api/v1/namespaces/default/configmaps")
    srv.stop()
    assert w.next(timeout=5) is None
    w.close()
    assert not srv._thread.is_alive()
