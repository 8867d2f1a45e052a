"""The champion/challenger gate: pure decisions, every rule and direction."""

from __future__ import annotations

import math

import pytest

from sagemaker_k8s.promotion.gate import KEEP, PROMOTE, GateError, decide, improvement

M = "validation:merror"


def gate(challenger, champion, *, direction="minimize", min_improvement=0.0, force=False, metric=M):
    return decide(
        metric_name=metric,
        direction=direction,
        min_improvement=min_improvement,
        force=force,
        challenger_metrics=challenger,
        champion_metrics=champion,
        endpoint_name="ep",
    )


@pytest.mark.parametrize(
    ("challenger", "champion", "direction", "min_improvement", "action"),
    [
        (0.10, 0.12, "minimize", 0.0, PROMOTE),  # lower error is better
        (0.12, 0.10, "minimize", 0.0, KEEP),  # worse
        (0.10, 0.10, "minimize", 0.0, KEEP),  # equal is not better
        (0.10, 0.12, "minimize", 0.02, PROMOTE),  # exactly the required improvement
        (0.10, 0.12, "minimize", 0.03, KEEP),  # better, but not by enough
        (0.95, 0.90, "maximize", 0.0, PROMOTE),  # higher accuracy is better
        (0.90, 0.95, "maximize", 0.0, KEEP),
        (0.95, 0.90, "maximize", 0.1, KEEP),
    ],
)
def test_compare(challenger, champion, direction, min_improvement, action):
    decision = gate({M: challenger}, {M: champion}, direction=direction, min_improvement=min_improvement)
    assert decision.action == action
    assert decision.challenger_metric == challenger and decision.champion_metric == champion
    assert f"{challenger:.6g}" in decision.reason and f"{champion:.6g}" in decision.reason
    assert decision.improvement == pytest.approx(improvement(challenger, champion, direction))


def test_keep_reason_says_why():
    assert "worse by 0.02" in gate({M: 0.12}, {M: 0.10}).reason
    assert "not better" in gate({M: 0.1}, {M: 0.1}).reason
    assert "only 0.02" in gate({M: 0.10}, {M: 0.12}, min_improvement=0.05).reason
    assert "keeps serving" in gate({M: 0.12}, {M: 0.10}).reason


def test_no_champion_promotes_and_names_the_endpoint():
    decision = gate({M: 0.5}, None)
    assert decision.promote and decision.rule == "no champion"
    assert "ep" in decision.reason


@pytest.mark.parametrize("champion", [None, {M: 0.01}])
def test_force_promotes_even_a_worse_or_unmeasured_model(champion):
    decision = gate({}, champion, force=True)
    assert decision.promote and decision.rule == "force_promote"


@pytest.mark.parametrize(
    ("challenger", "champion", "whose"),
    [
        ({}, {M: 0.1}, "challenger"),
        ({"train:merror": 0.1}, {M: 0.1}, "challenger"),
        ({M: math.nan}, {M: 0.1}, "challenger"),
        ({M: 0.1}, {"train:merror": 0.1}, "champion"),
    ],
)
def test_missing_metric_is_an_error_with_the_fix(challenger, champion, whose):
    with pytest.raises(GateError, match=whose) as e:
        gate(challenger, champion)
    assert "force_promote" in str(e.value) and "gate_metric" in str(e.value)


def test_unknown_direction():
    with pytest.raises(ValueError, match="direction"):
        improvement(1.0, 2.0, "sideways")
