"""Where a simulated hyperparameter tuning job looks next: parameter ranges and the two search strategies.

Every range maps its values onto a unit interval ``u`` in [0, 1] by its scaling type (``Linear``,
``Logarithmic``, ``ReverseLogarithmic``; ``Auto`` is treated as ``Linear``). Integers cover ``[min, max]``
in equal slices of ``u``; categorical values are picked uniformly.

* ``Random``: job *i* draws every parameter uniformly in ``u`` from a generator seeded with
  ``sha256(<tuning job name>/<i>)``, so the same tuning job name always explores the same points.
* ``Bayesian``: no Gaussian process, but a deterministic sequential stand-in. The first
  ``max(2, MaxParallelTrainingJobs)`` jobs (or any job launched before one succeeded) are the Random
  strategy's points; every later job refines around the best objective so far: each numeric parameter is
  drawn from a normal distribution in ``u`` around the best job's value (sigma ``0.25 / sqrt(1 + n)``,
  ``n`` = jobs with an objective value so far, clipped to [0, 1]); a categorical one keeps the best job's
  value with probability 0.75. The generator is seeded like Random's, so the sequence is deterministic
  given the same results in the same order.

Values are passed to training jobs as strings, as SageMaker does (integers ``"7"``, floats ``repr``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

STRATEGIES = ("Bayesian", "Random")
SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")


class InvalidRanges(ValueError):
    """The request's ranges or strategy are invalid; the message is SageMaker's ValidationException text."""


@dataclass(frozen=True)
class Range:
    name: str
    kind: str  # "Integer" | "Continuous" | "Categorical"
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"
    values: tuple[str, ...] = ()

    def value(self, u: float) -> str:
        """The parameter's value (as SageMaker passes it) at ``u`` in [0, 1]."""
        if self.kind == "Categorical":
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.kind == "Integer":
            top = self.high + 1  # equal slices of u per integer
            x = _scale(self.scaling, self.low, top, u)
            return str(int(min(max(math.floor(x), self.low), self.high)))
        return repr(float(min(max(_scale(self.scaling, self.low, self.high, u), self.low), self.high)))

    def unit(self, value: str) -> float:
        """The inverse of :meth:`value` (the middle of an integer's slice)."""
        if self.kind == "Categorical":
            return (self.values.index(value) + 0.5) / len(self.values) if value in self.values else 0.5
        x = float(value)
        if self.kind == "Integer":
            return _unscale(self.scaling, self.low, self.high + 1, x + 0.5)
        return _unscale(self.scaling, self.low, self.high, x)


def _scale(scaling: str, low: float, high: float, u: float) -> float:
    if scaling == "Logarithmic":
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    if scaling == "ReverseLogarithmic":
        return 1.0 - math.exp(math.log(1.0 - low) + u * (math.log(1.0 - high) - math.log(1.0 - low)))
    return low + u * (high - low)


def _unscale(scaling: str, low: float, high: float, x: float) -> float:
    if high == low:
        return 0.5
    if scaling == "Logarithmic":
        u = (math.log(max(x, low)) - math.log(low)) / (math.log(high) - math.log(low))
    elif scaling == "ReverseLogarithmic":
        span = math.log(1.0 - high) - math.log(1.0 - low)
        u = (math.log(1.0 - min(x, high)) - math.log(1.0 - low)) / span
    else:
        u = (x - low) / (high - low)
    return min(max(u, 0.0), 1.0)


def parse_ranges(parameter_ranges: dict | None) -> list[Range]:
    """``HyperParameterTuningJobConfig.ParameterRanges`` -> ranges; raises InvalidRanges like SageMaker."""
    ranges: list[Range] = []
    pr = parameter_ranges or {}
    for kind, key in (("Integer", "IntegerParameterRanges"), ("Continuous", "ContinuousParameterRanges")):
        for item in pr.get(key) or []:
            name = item.get("Name", "")
            try:
                low, high = float(item["MinValue"]), float(item["MaxValue"])
            except (KeyError, TypeError, ValueError):
                message = f"The {kind.lower()} range for hyperparameter {name} is not numeric"
                raise InvalidRanges(message) from None
            if kind == "Integer" and (low != int(low) or high != int(high)):
                raise InvalidRanges(f"The range for integer hyperparameter {name} must have integer bounds")
            if low > high:
                raise InvalidRanges(
                    f"The MinValue {item['MinValue']} of hyperparameter {name} is greater than its MaxValue "
                    f"{item['MaxValue']}"
                )
            scaling = item.get("ScalingType") or "Auto"
            if scaling not in SCALING_TYPES:
                raise InvalidRanges(f"Unknown ScalingType {scaling} for hyperparameter {name}")
            if scaling == "Logarithmic" and low <= 0:
                raise InvalidRanges(
                    f"Hyperparameter {name}: the Logarithmic scaling type requires a range greater than 0"
                )
            if scaling == "ReverseLogarithmic" and (kind == "Integer" or not 0 <= low < high < 1):
                raise InvalidRanges(
                    f"Hyperparameter {name}: the ReverseLogarithmic scaling type requires a continuous range "
                    "within [0, 1)"
                )
            ranges.append(Range(name, kind, low, high, "Linear" if scaling == "Auto" else scaling))
    for item in pr.get("CategoricalParameterRanges") or []:
        values = tuple(str(v) for v in item.get("Values") or [])
        if not values:
            raise InvalidRanges(f"The categorical hyperparameter {item.get('Name')} needs at least one value")
        ranges.append(Range(item.get("Name", ""), "Categorical", values=values))
    names = [r.name for r in ranges]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidRanges(f"Hyperparameters appear in more than one range: {duplicates}")
    if not ranges:
        raise InvalidRanges("The hyperparameter tuning job needs at least one parameter range")
    return ranges


def _rng(tuning_name: str, index: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{tuning_name}/{index}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


class Search:
    """Proposes the tuned hyperparameters of job ``index`` (1-based) from the results so far."""

    def __init__(
        self, tuning_name: str, strategy: str, ranges: list[Range], minimize: bool, max_parallel: int
    ) -> None:
        if strategy not in STRATEGIES:
            raise InvalidRanges(
                f"The strategy {strategy} is not supported by the SageMaker simulator (supported: "
                f"{', '.join(STRATEGIES)})"
            )
        self.name, self.strategy, self.ranges = tuning_name, strategy, ranges
        self.minimize = minimize
        self.initial = max(2, max_parallel)

    def propose(self, index: int, results: list[tuple[dict[str, str], float]]) -> dict[str, str]:
        """``results``: (tuned hyperparameters, objective value) of jobs with a value, by finishing order."""
        rng = _rng(self.name, index)
        if self.strategy == "Random" or index <= self.initial or not results:
            return {r.name: r.value(rng.uniform()) for r in self.ranges}
        best = min(results, key=lambda item: item[1] if self.minimize else -item[1])[0]
        sigma = 0.25 / math.sqrt(1 + len(results))
        out = {}
        for r in self.ranges:
            if r.kind == "Categorical":
                keep = rng.uniform() < 0.75 and best.get(r.name) in r.values
                out[r.name] = best[r.name] if keep else r.value(rng.uniform())
            else:
                u = r.unit(best[r.name]) if r.name in best else rng.uniform()
                out[r.name] = r.value(min(max(u + rng.normal(0.0, sigma), 0.0), 1.0))
        return out
