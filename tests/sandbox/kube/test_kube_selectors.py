"""Bullet 5 (selectors): label and field selector parsing/matching, and their use by list."""

from __future__ import annotations

import pytest

from sandbox.kube.selectors import SelectorError, field_matcher, label_matcher, parse_label_selector
from tests.sandbox.kube.kube_helpers import GROUP, TJ, trainingjob

LABELS = {"app": "xgb", "tier": "train", "version": "3"}


def _obj(labels: dict) -> dict:
    return {"metadata": {"name": "n", "namespace": "ns", "labels": labels}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=xgb", True),
        ("app==xgb", True),
        ("app=other", False),
        ("app!=other", True),
        ("app!=xgb", False),
        ("missing!=x", True),
        ("app in (xgb,lgbm)", True),
        ("app in (lgbm)", False),
        ("app notin (lgbm, rf)", True),
        ("app notin (xgb)", False),
        ("missing notin (a)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("app=xgb,tier=train", True),
        ("app=xgb,tier=serve", False),
        ("app in (xgb, lgbm),!missing,tier", True),
        ("version>2", True),
        ("version<3", False),
        ("  app = xgb  ", True),
    ],
)
def test_label_selector(selector, matches):
    assert label_matcher(selector)(_obj(LABELS)) is matches


@pytest.mark.parametrize(
    "bad", ["app in (a", "app=(x", "=x", "a b c", "app in ()", "version>x", "app=va lue"]
)
def test_label_selector_errors(bad):
    with pytest.raises(SelectorError):
        parse_label_selector(bad)


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=n", True),
        ("metadata.name==n", True),
        ("metadata.name!=n", False),
        ("metadata.namespace=ns,metadata.name=n", True),
        ("metadata.namespace=other", False),
        ("status.phase=Running", True),
    ],
)
def test_field_selector(selector, matches):
    assert field_matcher(selector)(_obj({})) is matches


def test_field_selector_restricted_fields():
    allowed = {"metadata.name", "metadata.namespace"}.__contains__
    with pytest.raises(SelectorError, match=r"field label not supported: spec\.region"):
        field_matcher("spec.region=x", allowed)


def test_selectors_on_list(api):
    for name, labels in (("a", {"app": "xgb", "tier": "train"}), ("b", {"app": "xgb"}), ("c", {"app": "rf"})):
        obj = trainingjob(name)
        obj["metadata"]["labels"] = labels
        api.post(TJ, obj)

    def names(**query):
        resp = api.get(TJ, query=query)
        assert resp.status == 200, resp.body
        return [i["metadata"]["name"] for i in resp.body["items"]]

    assert names(labelSelector="app=xgb") == ["a", "b"]
    assert names(labelSelector="app in (rf),!tier") == ["c"]
    assert names(labelSelector="tier") == ["a"]
    assert names(labelSelector="app notin (xgb)") == ["c"]
    assert names(fieldSelector="metadata.name=b") == ["b"]
    assert names(fieldSelector="metadata.name!=b", labelSelector="app=xgb") == ["a"]
    assert names(fieldSelector="metadata.namespace=default") == ["a", "b", "c"]
    cluster = api.get(
        f"/apis/{GROUP}/v1/trainingjobs", query={"fieldSelector": "metadata.namespace=kube-system"}
    )
    assert cluster.body["items"] == []
    bad = api.get(TJ, query={"fieldSelector": "spec.region=us-west-2"})
    assert bad.status == 400 and bad.body["message"] == "field label not supported: spec.region"
    bad = api.get(TJ, query={"labelSelector": "app in (x"})
    assert bad.status == 400 and bad.body["reason"] == "BadRequest"
    pods = api.get("/api/v1/namespaces", query={"fieldSelector": "status.phase=Active"}).body["items"]
    assert pods, "built-ins accept other field paths"
