"""Bullet 8: fault injection and the request log."""

from __future__ import annotations

import time

import pytest

from tests.sandbox.kube.kube_helpers import TJ, trainingjob


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (429, "TooManyRequests"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
        (504, "Timeout"),
        (409, "Conflict"),
        (404, "NotFound"),
    ],
)
def test_status_faults(kube, api, code, reason):
    rule = kube.faults.add(method="GET", path_regex=r"/trainingjobs$", status=code, count=2)
    for _ in range(2):
        resp = api.get(TJ)
        assert resp.status == code
        assert resp.body["kind"] == "Status" and resp.body["reason"] == reason and resp.body["code"] == code
    assert api.get(TJ).status == 200, "count exhausted"
    assert kube.faults.hits(rule) == 2


def test_retry_after(kube, api):
    kube.faults.add(path_regex="trainingjobs", status=429, retry_after=7, count=1)
    resp = api.get(TJ)
    assert resp.status == 429 and resp.headers["Retry-After"] == "7"
    assert resp.body["details"]["retryAfterSeconds"] == 7


def test_method_filter_forever_and_remove(kube, api):
    rule = kube.faults.add(method="POST", path_regex="trainingjobs", status=500)
    for _ in range(3):
        assert api.post(TJ, trainingjob("a")).status == 500
    assert api.get(TJ).status == 200, "GET not matched"
    kube.faults.remove(rule)
    assert api.post(TJ, trainingjob("a")).status == 201
    assert kube.faults.hits(rule) == 3


def test_delay_only_rule_then_serves(kube, api):
    rule = kube.faults.add(path_regex="/version", status=None, delay_seconds=0.3, count=1)
    started = time.monotonic()
    resp = api.get("/version")
    assert resp.status == 200 and time.monotonic() - started >= 0.3
    assert kube.faults.hits(rule) == 1


def test_delay_after_commits_the_write_then_holds_the_response(kube, api):
    import threading

    rule = kube.faults.add(method="POST", path_regex=r"/trainingjobs$", status=None, delay_after_seconds=1.0)
    answered = {}
    client = threading.Thread(target=lambda: answered.setdefault("resp", api.post(TJ, trainingjob("slow"))))
    started = time.monotonic()
    client.start()
    while kube.get("sagemaker.aws.amazon.com/v1", "trainingjobs", "slow", "default") is None:
        assert time.monotonic() - started < 0.9, "the object must exist before the response is sent"
        time.sleep(0.02)
    assert "resp" not in answered  # created, but the client has no answer yet
    client.join(5)
    assert answered["resp"].status == 201 and time.monotonic() - started >= 1.0
    assert kube.faults.hits(rule) == 1


def test_delay_with_status_and_clear(kube, api):
    kube.faults.add(status=503, delay_seconds=0.1)
    started = time.monotonic()
    assert api.get("/api/v1/namespaces").status == 503
    assert time.monotonic() - started >= 0.1
    kube.faults.clear()
    assert api.get("/api/v1/namespaces").status == 200
    assert kube.faults.rules == []


def test_in_process_calls_are_not_faulted(kube):
    kube.faults.add(status=503)
    assert kube.get("v1", "Namespace", "default")["metadata"]["name"] == "default"


def test_request_log(kube, api):
    kube.clear_requests()
    api.post(TJ, trainingjob("a"), headers={"User-Agent": "contract-test/1.0"})
    api.get(TJ, query={"labelSelector": "a=b"})
    api.get(f"{TJ}/missing")
    log = kube.requests
    assert [(r.method, r.path, r.status) for r in log] == [
        ("POST", TJ, 201),
        ("GET", TJ, 200),
        ("GET", f"{TJ}/missing", 404),
    ]
    assert log[0].user_agent == "contract-test/1.0"
    assert log[1].query == {"labelSelector": "a=b"}
    rule = kube.faults.add(status=500, count=1)
    api.get("/version")
    assert kube.requests[-1].fault == rule and kube.requests[-1].status == 500


def test_request_log_marks_watches(kube, api):
    with api.watch(TJ) as w:
        api.post(TJ, trainingjob("a"))
        w.next()
        watches = [r for r in kube.requests if r.watch]
        assert len(watches) == 1 and watches[0].status == 200
