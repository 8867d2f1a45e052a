"""sandbox.aws.tuning_search: parameter ranges, the Random and Bayesian strategies (no server needed)."""

from __future__ import annotations

import math
import statistics

import pytest

from sandbox.aws.tuning_search import InvalidRanges, Search, parse_ranges

RANGES = {
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "2", "MaxValue": "5", "ScalingType": "Linear"}
    ],
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "1", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"},
        {"Name": "gamma", "MinValue": "0", "MaxValue": "5", "ScalingType": "Auto"},
    ],
    "CategoricalParameterRanges": [{"Name": "grow_policy", "Values": ["depthwise", "lossguide"]}],
}


def search(strategy: str = "Random", name: str = "tuning", max_parallel: int = 2) -> Search:
    return Search(name, strategy, parse_ranges(RANGES), minimize=True, max_parallel=max_parallel)


def test_random_values_are_strings_within_their_ranges():
    proposals = [search().propose(i, []) for i in range(1, 301)]
    depths = [int(p["max_depth"]) for p in proposals]
    assert set(depths) == {2, 3, 4, 5}  # every integer, and only those
    assert all(0.01 <= float(p["eta"]) <= 1 for p in proposals)
    assert all(0.5 <= float(p["subsample"]) <= 0.999 for p in proposals)
    assert all(0 <= float(p["gamma"]) <= 5 for p in proposals)
    assert {p["grow_policy"] for p in proposals} == {"depthwise", "lossguide"}
    assert all(isinstance(v, str) for p in proposals for v in p.values())
    # Logarithmic: uniform in log space, so the median is near the geometric mean (0.1), not 0.5
    assert 0.06 < statistics.median(float(p["eta"]) for p in proposals) < 0.16
    # ReverseLogarithmic: dense near the top of the range
    assert statistics.median(float(p["subsample"]) for p in proposals) > 0.95


def test_random_proposals_depend_only_on_the_tuning_job_name_and_the_index():
    assert [search().propose(i, []) for i in range(1, 6)] == [search().propose(i, []) for i in range(1, 6)]
    assert search().propose(1, []) != search(name="other").propose(1, [])
    assert search().propose(3, [({"eta": "0.5"}, 0.1)]) == search().propose(3, [])  # history is ignored


def test_bayesian_starts_random_then_refines_around_the_best_so_far():
    bayes = search("Bayesian", max_parallel=3)
    assert [bayes.propose(i, []) for i in (1, 2, 3)] == [search().propose(i, []) for i in (1, 2, 3)]
    best = {"max_depth": "5", "eta": "0.02", "subsample": "0.6", "gamma": "4.5", "grow_policy": "lossguide"}
    worse = {"max_depth": "2", "eta": "0.9", "subsample": "0.99", "gamma": "0.5", "grow_policy": "depthwise"}
    results = [(worse, 0.4), (best, 0.1), (worse, 0.3)]
    proposals = [bayes.propose(i, results) for i in range(4, 40)]
    assert proposals == [search("Bayesian", max_parallel=3).propose(i, results) for i in range(4, 40)]
    assert statistics.median(math.log(float(p["eta"])) for p in proposals) < math.log(0.05)
    assert statistics.median(float(p["gamma"]) for p in proposals) > 3.5
    assert sum(p["grow_policy"] == "lossguide" for p in proposals) > len(proposals) / 2
    # Maximize looks around the other end
    maximize = Search("tuning", "Bayesian", parse_ranges(RANGES), minimize=False, max_parallel=3)
    assert statistics.median(float(maximize.propose(i, results)["eta"]) for i in range(4, 40)) > 0.3


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({"IntegerParameterRanges": [{"Name": "a", "MinValue": "5", "MaxValue": "2"}]}, "greater than"),
        ({"IntegerParameterRanges": [{"Name": "a", "MinValue": "1.5", "MaxValue": "2"}]}, "integer bounds"),
        ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "x", "MaxValue": "2"}]}, "not numeric"),
        (
            {
                "ContinuousParameterRanges": [
                    {"Name": "a", "MinValue": "0", "MaxValue": "2", "ScalingType": "Logarithmic"}
                ]
            },
            "greater than 0",
        ),
        (
            {
                "IntegerParameterRanges": [
                    {"Name": "a", "MinValue": "0", "MaxValue": "1", "ScalingType": "ReverseLogarithmic"}
                ]
            },
            "within [0, 1)",
        ),
        ({"CategoricalParameterRanges": [{"Name": "a", "Values": []}]}, "at least one value"),
        (
            {
                "IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "2"}],
                "CategoricalParameterRanges": [{"Name": "a", "Values": ["x"]}],
            },
            "more than one range",
        ),
        ({}, "at least one parameter range"),
    ],
)
def test_invalid_ranges_are_refused(ranges, message):
    with pytest.raises(InvalidRanges, match=message.replace("[", r"\[").replace(")", r"\)")):
        parse_ranges(ranges)


def test_unsupported_strategies_are_refused():
    for strategy in ("Grid", "Hyperband", "bayesian"):
        with pytest.raises(InvalidRanges, match="not supported by the SageMaker simulator"):
            search(strategy)
