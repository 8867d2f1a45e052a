"""Bullet 4: patch documents (pure) and patch media types over HTTP."""

from __future__ import annotations

import pytest

from sandbox.kube.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from tests.sandbox.kube.kube_helpers import TJ, trainingjob

# -- RFC 7386 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [  # the RFC 7386 appendix examples
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386(target, patch, expected):
    assert merge_patch(target, patch) == expected


def test_merge_patch_does_not_mutate():
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


# -- RFC 6902 ---------------------------------------------------------------------------------------
DOC = {"foo": ["bar", "baz"], "obj": {"a": 1}, "x/y": 2, "m~n": 3}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "add", "path": "/baz", "value": "qux"}], {**DOC, "baz": "qux"}),
        ([{"op": "add", "path": "/foo/1", "value": "q"}], {**DOC, "foo": ["bar", "q", "baz"]}),
        ([{"op": "add", "path": "/foo/-", "value": "z"}], {**DOC, "foo": ["bar", "baz", "z"]}),
        ([{"op": "remove", "path": "/obj/a"}], {**DOC, "obj": {}}),
        ([{"op": "remove", "path": "/foo/0"}], {**DOC, "foo": ["baz"]}),
        ([{"op": "replace", "path": "/obj/a", "value": 5}], {**DOC, "obj": {"a": 5}}),
        ([{"op": "replace", "path": "/foo/1", "value": "B"}], {**DOC, "foo": ["bar", "B"]}),
        ([{"op": "move", "from": "/obj/a", "path": "/moved"}], {**DOC, "obj": {}, "moved": 1}),
        ([{"op": "copy", "from": "/foo/0", "path": "/copied"}], {**DOC, "copied": "bar"}),
        ([{"op": "test", "path": "/foo/1", "value": "baz"}], DOC),
        ([{"op": "replace", "path": "/x~1y", "value": 9}], {**DOC, "x/y": 9}),
        ([{"op": "remove", "path": "/m~0n"}], {k: v for k, v in DOC.items() if k != "m~n"}),
        (
            [
                {"op": "add", "path": "/obj/b", "value": {"c": [1]}},
                {"op": "add", "path": "/obj/b/c/0", "value": 0},
            ],
            {**DOC, "obj": {"a": 1, "b": {"c": [0, 1]}}},
        ),
    ],
)
def test_json_patch_rfc6902(ops, expected):
    assert json_patch(DOC, ops) == expected


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/foo/0", "value": "nope"}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "add", "path": "/foo/7", "value": 1}],
        [{"op": "add", "path": "/nope/deeper", "value": 1}],
        [{"op": "frobnicate", "path": "/foo"}],
        [{"op": "move", "from": "/obj", "path": "/obj/a/b"}],
    ],
)
def test_json_patch_failures(ops):
    with pytest.raises(PatchError):
        json_patch(DOC, ops)


def test_json_patch_is_atomic():
    doc = {"a": 1}
    with pytest.raises(PatchError):
        json_patch(
            doc, [{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 3}]
        )
    assert doc == {"a": 1}


def test_strategic_merge_patch_merges_named_lists_and_directives():
    target = {
        "spec": {
            "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
            "args": ["x"],
            "keep": 1,
        }
    }
    patch = {
        "spec": {
            "containers": [{"name": "b", "image": "2"}, {"name": "c", "image": "3"}],
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "args": ["y"],
        }
    }
    out = strategic_merge_patch(target, patch)
    assert out["spec"]["containers"] == [
        {"name": "a", "image": "1"},
        {"name": "b", "image": "2"},
        {"name": "c", "image": "3"},
    ]
    assert out["spec"]["args"] == ["y"] and out["spec"]["keep"] == 1
    deleted = strategic_merge_patch(target, {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}})
    assert [c["name"] for c in deleted["spec"]["containers"]] == ["b"]
    replaced = strategic_merge_patch(target, {"spec": {"$patch": "replace", "only": True}})
    assert replaced["spec"] == {"only": True}


# -- over HTTP --------------------------------------------------------------------------------------


def test_http_merge_patch(api):
    api.post(TJ, trainingjob("a"))
    resp = api.patch(
        f"{TJ}/a", {"metadata": {"labels": {"k": "v"}}, "spec": {"stoppingCondition": None}}, "merge"
    )
    assert resp.status == 422, "removing a required field makes the result invalid"
    resp = api.patch(
        f"{TJ}/a", {"spec": {"hyperParameters": [{"name": "eta", "value": "0.3"}], "trainingJobName": None}}
    )
    assert resp.status == 200 and resp.body["spec"]["hyperParameters"] == [{"name": "eta", "value": "0.3"}]


def test_http_json_patch(api):
    api.post(TJ, trainingjob("a"))
    ops = [
        {"op": "test", "path": "/spec/region", "value": "us-west-2"},
        {"op": "replace", "path": "/spec/region", "value": "eu-central-1"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]},
        {"op": "move", "from": "/spec/hyperParameters/0", "path": "/spec/hyperParameters/-"},
        {"op": "copy", "from": "/spec/region", "path": "/metadata/labels"},
    ]
    resp = api.patch(f"{TJ}/a", ops[:4], "json")
    assert resp.status == 200, resp.body
    assert resp.body["spec"]["region"] == "eu-central-1"
    assert resp.body["spec"]["hyperParameters"][-1]["name"] == "max_depth"
    failed = api.patch(f"{TJ}/a", [{"op": "test", "path": "/spec/region", "value": "nope"}], "json")
    assert failed.status == 422 and failed.body["reason"] == "Invalid"
    assert "test failed" in failed.body["message"]
    bad = api.patch(f"{TJ}/a", {"not": "a list"}, "json")
    assert bad.status == 400 and bad.body["reason"] == "BadRequest"


def test_http_strategic_merge_patch(api):
    assert api.post(TJ, trainingjob("a")).status == 201
    resp = api.patch(f"{TJ}/a", {"spec": {"region": "x"}}, "strategic")
    assert resp.status == 415 and resp.body["reason"] == "UnsupportedMediaType"
    assert "application/merge-patch+json" in resp.body["message"]
    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]},
    }
    api.post("/api/v1/namespaces/default/pods", pod)
    resp = api.patch(
        "/api/v1/namespaces/default/pods/p",
        {"spec": {"containers": [{"name": "b", "image": "2"}]}},
        "strategic",
    )
    assert resp.status == 200
    assert [c["image"] for c in resp.body["spec"]["containers"]] == ["1", "2"]


def test_http_apply_patch_and_unknown_types_are_415(api):
    api.post(TJ, trainingjob("a"))
    for media in ("application/apply-patch+yaml", "text/plain"):
        resp = api.patch(f"{TJ}/a", {"spec": {}}, media)
        assert resp.status == 415 and resp.body["reason"] == "UnsupportedMediaType", media


def test_patch_with_stale_resource_version_conflicts(api):
    created = api.post(TJ, trainingjob("a")).body
    api.patch(f"{TJ}/a", {"metadata": {"labels": {"a": "1"}}})
    resp = api.patch(
        f"{TJ}/a",
        {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"], "labels": {"a": "2"}}},
    )
    assert resp.status == 409 and resp.body["reason"] == "Conflict"
