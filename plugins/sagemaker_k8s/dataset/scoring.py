"""Score predictions against known labels (pure): the live endpoint's answers (the smoke test) and a
batch transform's output.

The endpoint answers the first test rows (:func:`first_rows`, sent in :func:`batches`) with one
prediction per line or comma-separated (:func:`parse_predictions`: ``"3.0"`` -> 3).

SageMaker writes one output object per input object, ``<S3OutputPath>/<key relative to the input
prefix>.out``; with ``SplitType``/``AssembleWith`` ``Line`` it holds one prediction per non-blank input
row, in order, each on its own line. The labels (``dataset.layout.labels_key``) are one per line for
the test split's rows in input order, so the predictions are the outputs concatenated in input-key
order, read like the endpoint's answers and scored with the same :func:`accuracy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def first_rows(csv_text: str, limit: int) -> list[str]:
    return [line for line in csv_text.splitlines() if line.strip()][:limit]


def parse_predictions(body: str) -> list[int]:
    """SageMaker XGBoost answers one prediction per line (or comma-separated): ``7.0``."""
    values = [v for line in body.splitlines() for v in line.split(",") if v.strip()]
    return [round(float(v)) for v in values]


def accuracy(predictions: list[int], labels: list[int]) -> float:
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    if not labels:
        raise ValueError("no rows to score")
    return sum(p == y for p, y in zip(predictions, labels, strict=True)) / len(labels)


def batches(rows: list[str], size: int) -> list[str]:
    return ["\n".join(rows[i : i + size]) + "\n" for i in range(0, len(rows), size)]


OUTPUT_SUFFIX = ".out"


class ScoringError(ValueError):
    """The transform's output cannot be scored against the labels (missing rows, unreadable values)."""


@dataclass(frozen=True)
class BatchScore:
    accuracy: float
    rows: int
    correct: int


def _folder(prefix: str, what: str) -> str:
    if prefix and not prefix.endswith("/"):
        raise ValueError(f"{what} {prefix!r} must end with '/'")
    return prefix


def output_keys(input_prefix: str, input_keys: Iterable[str], output_prefix: str) -> list[tuple[str, str]]:
    """``(input key, output key)`` per input object, in the order the labels follow (S3's key order).

    Prefixes are S3 key prefixes ending with ``/``; "folder" placeholder keys (ending with ``/``) are
    not inputs.
    """
    _folder(input_prefix, "input prefix")
    _folder(output_prefix, "output prefix")
    pairs = []
    for key in sorted(set(input_keys), key=lambda k: k.encode("utf-8")):  # S3 lists by UTF-8 bytes
        if not key.startswith(input_prefix):
            raise ValueError(f"input key {key!r} is not under {input_prefix!r}")
        if key.endswith("/"):
            continue
        pairs.append((key, f"{output_prefix}{key[len(input_prefix) :]}{OUTPUT_SUFFIX}"))
    return pairs


def parse_transform_output(text: str, source: str = "transform output") -> list[int]:
    """One prediction per non-blank line (``3``, ``3.0``, ``3.0e+00``), with or without a final newline."""
    predictions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = parse_predictions(line)
        except (ValueError, OverflowError) as e:
            raise ScoringError(f"{source} line {number}: {line[:80]!r} is not a number ({e})") from e
        if len(values) != 1:
            raise ScoringError(
                f"{source} line {number} holds {len(values)} values ({line[:80]!r}); expected one "
                "prediction per row (a class index, as objective multi:softmax answers)"
            )
        predictions.append(values[0])
    return predictions


def parse_labels(text: str, source: str = "labels") -> list[int]:
    """The test split's labels: one integer per non-blank line."""
    labels = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            labels.append(int(line.strip()))
        except ValueError as e:
            raise ScoringError(f"{source} line {number}: {line[:80]!r} is not an integer label") from e
    return labels


def score(outputs: Sequence[tuple[str, str]], labels_text: str, labels_source: str = "labels") -> BatchScore:
    """Accuracy of ``outputs`` (``(name, text)`` per output object, in input order) against the labels."""
    predictions: list[int] = []
    counts = []
    for name, text in outputs:
        parsed = parse_transform_output(text, name)
        counts.append(f"{name}: {len(parsed)}")
        predictions.extend(parsed)
    labels = parse_labels(labels_text, labels_source)
    if len(predictions) != len(labels):
        raise ScoringError(
            f"the transform output has {len(predictions)} predictions ({', '.join(counts) or 'no objects'}) "
            f"but {labels_source} has {len(labels)} labels: every test row needs exactly one prediction"
        )
    if not labels:
        raise ScoringError(f"nothing to score: no predictions and no labels in {labels_source}")
    correct = sum(p == y for p, y in zip(predictions, labels, strict=True))
    return BatchScore(accuracy=accuracy(predictions, labels), rows=len(labels), correct=correct)


def batch_output_uri(bucket: str, prefix: str, run_name: str) -> str:
    """``s3://bucket/prefix/batch/<run_name>/``: one folder per run, next to (never under) ``test/``."""
    return f"s3://{bucket}/{prefix}/batch/{run_name}/"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{str(uri)[:120]!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key
