"""Generated names: deterministic, unique per triple, valid for Kubernetes and SageMaker, any input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_k8s.constants import LABEL_DAG_ID, LABEL_MANAGED_BY, LABEL_RUN_ID, LABEL_TASK_ID
from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests import naming as n

K8S = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SAGEMAKER = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
LABEL = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

RUN_IDS = [
    "manual__2026-11-29T23:10:00.123456+00:00",
    "scheduled__2026-11-29T00:00:00+00:00",
    "asset_triggered__2026-11-29T23:10:00+00:00",
    "backfill__2026-01-01T00:00:00+00:00",
    "my custom run id",
]
HOSTILE = [
    "a\nb",
    "{{ ti.xcom_pull() }}",
    "key: value\n---\nkind: Secret",
    '{"a": [1, 2]}',
    "ÄÖÜ-日本語-🚀",
    "----",
    "_.-_.",
    "x" * 500,
    "UPPER_case.Dots",
    "\x00\x1b[31m",
    "  ",
    "$(rm -rf /)",
]


def _valid(name: str, max_length: int = 63) -> bool:
    return len(name) <= max_length and bool(K8S.match(name)) and bool(SAGEMAKER.match(name))


def test_readable_and_deterministic() -> None:
    name = n.resource_name("sagemaker_xgboost_mnist", RUN_IDS[0], "submit_training")
    assert name == n.resource_name("sagemaker_xgboost_mnist", RUN_IDS[0], "submit_training")
    assert _valid(name)
    assert "submit-training-20261129t231000" in name
    # the DAG id gives way at a word boundary, not mid-word (never "sagemaker-xgboost-mnis-")
    assert name.startswith("sagemaker-xgboost-submit-training-")
    assert re.search(r"-[0-9a-f]{8}$", name)


@pytest.mark.parametrize("run_id", RUN_IDS + HOSTILE)
@pytest.mark.parametrize("dag_id", ["sagemaker_xgboost_mnist", "d", *HOSTILE[:4]])
def test_always_valid(dag_id: str, run_id: str) -> None:
    assert _valid(n.resource_name(dag_id, run_id, "deploy_endpoint"))
    assert _valid(n.resource_name(dag_id, run_id, "t", suffix="ep"))
    assert _valid(n.resource_name(dag_id, run_id, "t", max_length=32), 32)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("dag", "run", "task"), ("dag", "run", "task2")),
        (("my_dag", "r", "t"), ("my-dag", "r", "t")),  # same slug
        (("a-b", "c", "t"), ("a", "b-c", "t")),  # same concatenation
        (
            ("d", "manual__2026-11-29T23:10:00.000001+00:00", "t"),
            ("d", "manual__2026-11-29T23:10:00.000002+00:00", "t"),
        ),
        (("d" * 100 + "x", "r", "t"), ("d" * 100 + "y", "r", "t")),  # differ only past truncation
    ],
)
def test_distinct_triples_give_distinct_names(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    assert n.resource_name(*a) != n.resource_name(*b)


@pytest.mark.parametrize(
    ("slug", "limit", "expected"),
    [
        ("sagemaker-xgboost-mnist", 23, "sagemaker-xgboost-mnist"),
        ("sagemaker-xgboost-mnist", 22, "sagemaker-xgboost"),
        ("sagemaker-xgboost-mnist", 18, "sagemaker-xgboost"),
        ("sagemaker-xgboost-mnist", 17, "sagemaker-xgboost"),
        ("sagemaker-xgboost-mnist", 16, "sagemaker"),
        ("sagemaker-xgboost-mnist", 5, "sagem"),
        ("sagemaker", 4, "sage"),
        ("abc", 0, ""),
    ],
)
def test_dag_slug_cut_at_a_word(slug: str, limit: int, expected: str) -> None:
    assert n._cut_at_word(slug, limit) == expected


def test_suffix_kept_whole() -> None:
    base = n.resource_name("d" * 80, "r" * 80, "t" * 80)
    with_suffix = n.resource_name("d" * 80, "r" * 80, "t" * 80, suffix="model")
    assert with_suffix.endswith("-model") and len(with_suffix) <= 63
    assert with_suffix != base


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"suffix": "Bad"}, "suffix"),
        ({"suffix": "-x"}, "suffix"),
        ({"suffix": "a" * 21}, "suffix"),
        ({"suffix": "a\nb"}, "suffix"),
        ({"max_length": 64}, "max_length"),
        ({"max_length": 5}, "max_length"),
    ],
)
def test_bad_arguments(kwargs: dict, param: str) -> None:
    with pytest.raises(ConfigError) as e:
        n.resource_name("d", "r", "t", **kwargs)
    assert e.value.param == param


@pytest.mark.parametrize("missing", ["dag_id", "run_id", "task_id"])
def test_empty_parts_rejected(missing: str) -> None:
    parts = {"dag_id": "d", "run_id": "r", "task_id": "t", missing: ""}
    with pytest.raises(ConfigError) as e:
        n.resource_name(**parts)
    assert e.value.param == missing


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
@settings(max_examples=300, deadline=None)
def test_property_resource_name_valid(dag_id: str, run_id: str, task_id: str) -> None:
    assert _valid(n.resource_name(dag_id, run_id, task_id))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("sagemaker_xgboost_mnist", "sagemaker_xgboost_mnist"), ("", ""), ("a", "a"), ("x" * 63, "x" * 63)],
)
def test_label_value_keeps_valid_values(value: str, expected: str) -> None:
    assert n.label_value(value) == expected


@pytest.mark.parametrize("value", RUN_IDS + HOSTILE + ["x" * 64, "-lead", "trail-", "日本"])
def test_label_value_sanitizes_and_hashes(value: str) -> None:
    label = n.label_value(value)
    assert LABEL.match(label) and len(label) <= 63
    if not (len(value) <= 63 and LABEL.match(value)):
        assert re.search(r"(^|-)[0-9a-f]{8}$", label)
        assert label.endswith(n.short_hash(value))


def test_run_id_label_is_readable() -> None:
    assert n.label_value(RUN_IDS[0]).startswith("manual__2026-11-29T23_10_00.123456_00_00-")


def test_label_values_that_sanitize_alike_stay_distinct() -> None:
    assert n.label_value("a:b") != n.label_value("a+b")


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_property_label_value_valid(value: str) -> None:
    label = n.label_value(value)
    assert len(label) <= 63 and LABEL.match(label)


def test_airflow_labels_and_annotations() -> None:
    labels = n.airflow_labels("my_dag", RUN_IDS[0], "submit_training")
    assert labels[LABEL_MANAGED_BY] == "airflow"
    assert labels[LABEL_DAG_ID] == "my_dag"
    assert labels[LABEL_TASK_ID] == "submit_training"
    assert LABEL.match(labels[LABEL_RUN_ID])
    annotations = n.airflow_annotations("my_dag", RUN_IDS[0], "submit_training")
    assert annotations == {LABEL_DAG_ID: "my_dag", LABEL_RUN_ID: RUN_IDS[0], LABEL_TASK_ID: "submit_training"}
    assert set(annotations) <= set(labels)


@pytest.mark.parametrize(
    ("name", "k8s", "sagemaker"),
    [
        ("xgboost-mnist", True, True),
        ("a", True, True),
        ("a" * 63, True, True),
        ("a" * 64, True, False),
        ("Xgboost", False, True),
        ("a--b", True, True),
        ("-a", False, False),
        ("a-", False, False),
        ("a.b", True, False),
        ("a_b", False, False),
        ("", False, False),
        ("a\n", False, False),
        ("a" * 254, False, False),
        (None, False, False),
        (5, False, False),
    ],
)
def test_validity_checks(name: object, k8s: bool, sagemaker: bool) -> None:
    assert n.is_valid_k8s_name(name) is k8s
    assert n.is_valid_sagemaker_name(name) is sagemaker


def test_sagemaker_name_custom_limit() -> None:
    assert n.is_valid_sagemaker_name("a" * 32, 32) and not n.is_valid_sagemaker_name("a" * 33, 32)


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("app", True),
        ("app.kubernetes.io/managed-by", True),
        ("a/b/c", False),
        ("/x", False),
        ("x/", False),
        ("Example.com/x", False),
        ("x" * 64, False),
        ("", False),
        ("a b", False),
        (3, False),
    ],
)
def test_label_keys(key: object, ok: bool) -> None:
    assert n.is_valid_label_key(key) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("", True), ("a.b_c-d", True), ("a:b", False), ("a\n", False), (None, False)]
)
def test_label_values(value: object, ok: bool) -> None:
    assert n.is_valid_label_value(value) is ok


@pytest.mark.parametrize(
    ("label", "ok"), [("default", True), ("a.b", False), ("A", False), ("a" * 64, False)]
)
def test_dns_label(label: str, ok: bool) -> None:
    assert n.is_valid_dns_label(label) is ok
