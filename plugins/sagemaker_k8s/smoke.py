"""Score an endpoint's CSV predictions against known labels (pure)."""

from __future__ import annotations


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
