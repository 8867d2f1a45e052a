from __future__ import annotations

import pytest

from sagemaker_k8s.smoke import accuracy, batches, first_rows, parse_predictions


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
