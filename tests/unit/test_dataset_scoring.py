"""Scoring predictions against the test labels (pure): the endpoint's answers, a batch transform's output."""

from __future__ import annotations

import pytest

from sagemaker_k8s.dataset.scoring import (
    BatchScore,
    ScoringError,
    accuracy,
    batch_output_uri,
    batches,
    first_rows,
    output_keys,
    parse_labels,
    parse_predictions,
    parse_transform_output,
    score,
    split_s3_uri,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.0\n7.0\n1.0\n", [3, 7, 1]),
        ("3.0\n7.0\n1.0", [3, 7, 1]),  # no final newline
        ("3\n7\n", [3, 7]),  # integers
        ("3.0e+00\n9.000000000000000000e+00\n", [3, 9]),  # numpy's %.18e
        ("3.0\r\n7.0\r\n", [3, 7]),
        ("\n3.0\n\n \n7.0\n\n", [3, 7]),  # blank lines are not rows
        (" 4.0 \n", [4]),
        ("2.0,\n", [2]),  # a trailing separator is no second value
        ("", []),
    ],
)
def test_parse_transform_output(text: str, expected: list[int]) -> None:
    assert parse_transform_output(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("3.0\nseven\n", r"part-0.out line 2: 'seven' is not a number"),
        ("3.0\nnan\n", r"line 2: 'nan' is not a number"),
        ("inf\n", r"line 1: 'inf' is not a number"),
        ("0.1,0.9\n", r"line 1 holds 2 values .* one prediction per row"),
    ],
)
def test_unreadable_output_names_object_and_line(text: str, match: str) -> None:
    with pytest.raises(ScoringError, match=match):
        parse_transform_output(text, "part-0.out")


@pytest.mark.parametrize(("text", "expected"), [("7\n2\n1\n", [7, 2, 1]), ("7\n\n2", [7, 2]), ("", [])])
def test_parse_labels(text: str, expected: list[int]) -> None:
    assert parse_labels(text) == expected


def test_bad_label_is_named() -> None:
    with pytest.raises(ScoringError, match=r"s3://b/p/test-labels/labels line 2: 'x' is not an integer"):
        parse_labels("1\nx\n", "s3://b/p/test-labels/labels")


@pytest.mark.parametrize(
    ("outputs", "labels", "expected"),
    [
        ([("examples.out", "7.0\n2.0\n1.0\n0.0\n")], "7\n2\n1\n0\n", BatchScore(1.0, 4, 4)),
        ([("examples.out", "7.0\n2.0\n3.0\n0.0")], "7\n2\n1\n0\n", BatchScore(0.75, 4, 3)),
        # several input objects: their outputs concatenated in input order follow the labels
        (
            [("a.out", "7.0\n"), ("b.out", "2.0\n1.0\n"), ("c.out", "9.0\n")],
            "7\n2\n1\n0\n",
            BatchScore(0.75, 4, 3),
        ),
        ([("a.out", "7\n\n"), ("b.out", "\n2")], "7\n2", BatchScore(1.0, 2, 2)),
    ],
)
def test_score(outputs, labels: str, expected: BatchScore) -> None:
    assert score(outputs, labels) == expected


def test_order_matters() -> None:
    outputs = [("a.out", "1.0\n2.0\n"), ("b.out", "3.0\n")]
    assert score(outputs, "1\n2\n3\n").accuracy == 1.0
    assert score(list(reversed(outputs)), "1\n2\n3\n").accuracy == 0.0


@pytest.mark.parametrize(
    ("outputs", "labels", "match"),
    [
        (
            [("a.out", "1.0\n2.0\n"), ("b.out", "3.0\n")],
            "1\n2\n3\n4\n",
            r"3 predictions \(a.out: 2, b.out: 1\) but labels has 4 labels",
        ),
        ([("a.out", "1.0\n2.0\n")], "1\n", r"2 predictions \(a.out: 2\) but labels has 1 labels"),
        ([], "1\n", r"0 predictions \(no objects\)"),
        ([("a.out", "\n")], "", "nothing to score"),
    ],
)
def test_row_count_mismatch_is_explained(outputs, labels: str, match: str) -> None:
    with pytest.raises(ScoringError, match=match):
        score(outputs, labels)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["p/test/examples"], [("p/test/examples", "p/batch/run/examples.out")]),
        (
            ["p/test/part-10", "p/test/part-2", "p/test/", "p/test/sub/x"],
            [
                ("p/test/part-10", "p/batch/run/part-10.out"),  # S3's order: by bytes, not numbers
                ("p/test/part-2", "p/batch/run/part-2.out"),
                ("p/test/sub/x", "p/batch/run/sub/x.out"),
            ],
        ),
        (
            ["p/test/B", "p/test/a", "p/test/B"],
            [("p/test/B", "p/batch/run/B.out"), ("p/test/a", "p/batch/run/a.out")],
        ),
        ([], []),
    ],
)
def test_output_keys(keys: list[str], expected: list[tuple[str, str]]) -> None:
    assert output_keys("p/test/", keys, "p/batch/run/") == expected


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("p/test", ["p/test/x"], "p/batch/"), "input prefix 'p/test' must end with '/'"),
        (("p/test/", ["p/test/x"], "p/batch"), "output prefix"),
        (("p/test/", ["p/test-labels/labels"], "p/batch/"), "not under"),
    ],
)
def test_output_keys_refuses(args, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        output_keys(*args)


def test_uris() -> None:
    assert batch_output_uri("b", "x/y", "job-1") == "s3://b/x/y/batch/job-1/"
    assert split_s3_uri("s3://b/x/y/test/") == ("b", "x/y/test/")
    for bad in ("b/x", "s3://b", "https://b/x"):
        with pytest.raises(ValueError, match="not an s3://bucket/key URI"):
            split_s3_uri(bad)


@pytest.mark.parametrize(
    ("body", "expected"),
    [("7.0\n2.0\n", [7, 2]), ("7.0,2.0", [7, 2]), ("1\n\n3\n", [1, 3]), ("", [])],
)
def test_parse_predictions(body, expected):
    assert parse_predictions(body) == expected


@pytest.mark.parametrize(
    ("pred", "labels", "expected"), [([1, 2, 3], [1, 2, 3], 1.0), ([1, 2, 3, 4], [1, 0, 3, 0], 0.5)]
)
def test_accuracy(pred, labels, expected):
    assert accuracy(pred, labels) == expected


@pytest.mark.parametrize(("pred", "labels"), [([1], [1, 2]), ([], [])])
def test_accuracy_rejects_mismatch_and_empty(pred, labels):
    with pytest.raises(ValueError):
        accuracy(pred, labels)


def test_rows_and_batches():
    rows = first_rows("a\nb\n\nc\nd\n", 3)
    assert rows == ["a", "b", "c"]
    assert batches(rows, 2) == ["a\nb\n", "c\n"]
