"""The champion/challenger gate: promote the newly trained model, or keep the one serving now.

Promote when nobody serves yet, when ``force_promote`` is set, or when the challenger beats the
champion on the gate metric by at least ``min_improvement`` (and by more than nothing: an equal
model is not worth an endpoint update). The metric is the training job's final metric as SageMaker
reports it (``FinalMetricDataList``), e.g. ``validation:merror`` where lower is better.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

MINIMIZE = "minimize"
MAXIMIZE = "maximize"
DIRECTIONS = (MINIMIZE, MAXIMIZE)

PROMOTE = "promote"
KEEP = "keep"


class GateError(ValueError):
    """The gate cannot compare the models (a metric is missing); says how to proceed."""


@dataclass(frozen=True)
class Decision:
    action: str  # PROMOTE | KEEP
    reason: str
    metric_name: str
    challenger_metric: float | None
    champion_metric: float | None
    improvement: float | None  # positive = the challenger is better, in the metric's own units
    rule: str

    @property
    def promote(self) -> bool:
        return self.action == PROMOTE

    def to_dict(self) -> dict:
        return asdict(self)


def improvement(challenger: float, champion: float, direction: str) -> float:
    """How much better the challenger is (positive) or worse (negative)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    return champion - challenger if direction == MINIMIZE else challenger - champion


def metric_of(metrics: dict[str, float], name: str, whose: str) -> float:
    value = metrics.get(name)
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        known = ", ".join(sorted(metrics)) or "none"
        raise GateError(
            f"the {whose} training job reported no finite metric {name!r} (it reported: {known}); "
            "set gate_metric to one of those, or force_promote to promote without comparing"
        )
    return float(value)


def decide(
    *,
    metric_name: str,
    direction: str,
    min_improvement: float,
    force: bool,
    challenger_metrics: dict[str, float],
    champion_metrics: dict[str, float] | None,
    endpoint_name: str,
) -> Decision:
    """``champion_metrics`` None: nothing serves the endpoint yet."""
    better = "lower" if direction == MINIMIZE else "higher"
    rule = f"promote if {metric_name} is {better} than the champion's by at least {min_improvement:g}"
    if force:
        challenger = challenger_metrics.get(metric_name)
        return Decision(
            PROMOTE, "force_promote is set: promoting without comparing", metric_name,
            challenger, None if champion_metrics is None else champion_metrics.get(metric_name), None,
            "force_promote",
        )  # fmt: skip
    challenger = metric_of(challenger_metrics, metric_name, "challenger's")
    if champion_metrics is None:
        return Decision(
            PROMOTE, f"no champion serves endpoint {endpoint_name} yet: the first model is promoted",
            metric_name, challenger, None, None, "no champion",
        )  # fmt: skip
    champion = metric_of(champion_metrics, metric_name, "champion's")
    gain = improvement(challenger, champion, direction)
    comparison = f"challenger {metric_name}={challenger:.6g} vs champion {champion:.6g}"
    enough = gain >= min_improvement or math.isclose(gain, min_improvement, rel_tol=1e-9, abs_tol=1e-12)
    if gain > 0 and enough:
        reason = f"{comparison}: better by {gain:.6g} (>= min_improvement {min_improvement:g})"
        return Decision(PROMOTE, reason, metric_name, challenger, champion, gain, rule)
    if gain <= 0:
        verdict = "not better" if gain == 0 else f"worse by {-gain:.6g}"
    else:
        verdict = f"better by only {gain:.6g} (< min_improvement {min_improvement:g})"
    reason = f"{comparison}: {verdict}; the champion keeps serving"
    return Decision(KEEP, reason, metric_name, challenger, champion, gain, rule)
