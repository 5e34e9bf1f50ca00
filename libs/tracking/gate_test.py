from __future__ import annotations

import math

import pytest

from libs.tracking import Baseline, GateDecision, decide


def test_no_champion_promotes_whatever_the_score() -> None:
    decision = decide("1", 0.2, None, None, margin=0.5, higher_is_better=True)
    assert decision == GateDecision(
        promoted=True,
        reason="promoted v1 (score 0.2): no champion yet",
        challenger_version="1",
        challenger_score=0.2,
        champion_version=None,
        champion_score=None,
        margin=0.5,
        higher_is_better=True,
    )


def test_improvement_exactly_at_the_margin_passes_despite_float_rounding() -> None:
    assert 0.85 - 0.80 < 0.05  # what a naive comparison would get wrong
    assert decide(2, 0.85, 1, 0.80, margin=0.05, higher_is_better=True).promoted
    assert decide(2, 0.80, 1, 0.85, margin=0.05, higher_is_better=False).promoted


def test_reasons_carry_the_numbers_and_the_direction() -> None:
    rejected = decide(3, 10.4, 2, 10.0, margin=0.1, higher_is_better=False)
    assert not rejected.promoted
    assert rejected.reason == (
        "rejected v3: score 10.4 is worse than champion v2's 10 by 0.4 (lower is better); "
        "promotion needs an improvement of at least the margin 0.1, champion v2 kept"
    )
    promoted = decide(3, 9.5, 2, 10.0, margin=0.1, higher_is_better=False)
    assert promoted.reason == (
        "promoted v3: score 9.5 beats champion v2's 10 by 0.5 (lower is better), at least the margin 0.1"
    )
    tags = promoted.as_tags()
    assert tags["gate.decision"] == "promoted"
    assert (tags["gate.champion_version"], tags["gate.margin"], tags["gate.higher_is_better"]) == (
        "2",
        "0.1",
        "false",
    )


def test_a_negative_margin_lets_a_slightly_worse_challenger_through() -> None:
    assert decide(2, 0.89, 1, 0.90, margin=-0.05, higher_is_better=True).promoted


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_scores_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="challenger_score must be a finite number"):
        decide(2, bad, 1, 0.9, margin=0.0, higher_is_better=True)


def test_champion_version_and_score_come_together() -> None:
    with pytest.raises(ValueError, match="both be given"):
        decide(2, 0.9, 1, None, margin=0.0, higher_is_better=True)


NAIVE = Baseline(name="seasonal naive", score=10.0)


@pytest.mark.parametrize("score", [10.0, 10.0 + 1e-13, 12.0])
def test_a_first_model_no_better_than_its_baseline_is_rejected(score: float) -> None:
    decision = decide("1", score, None, None, margin=0.0, higher_is_better=False, baseline=NAIVE)
    assert not decision.promoted
    assert not decision.beats_baseline
    assert decision.reason.startswith(f"rejected v1: score {score:.6g} ")
    assert "the baseline (seasonal naive)'s 10" in decision.reason
    assert decision.reason.endswith("(lower is better); a model must beat its baseline")
    assert ("equals" in decision.reason) == (score < 11)


def test_a_first_model_that_beats_its_baseline_is_promoted() -> None:
    decision = decide("1", 9.0, None, None, margin=0.5, higher_is_better=False, baseline=NAIVE)
    assert decision.promoted
    assert decision.reason == "promoted v1 (score 9): no champion yet"
    tags = decision.as_tags()
    assert (tags["gate.baseline"], tags["gate.baseline_score"]) == ("seasonal naive", "10.0")


def test_a_challenger_beating_the_champion_is_promoted_below_the_baseline_and_says_so() -> None:
    decision = decide(3, 10.5, 2, 11.0, margin=0.1, higher_is_better=False, baseline=NAIVE)
    assert decision.promoted and not decision.beats_baseline
    assert decision.reason.endswith("at least the margin 0.1; below the baseline (seasonal naive)'s 10")
    assert not decide(3, 10.95, 2, 11.0, margin=0.1, higher_is_better=False, baseline=NAIVE).promoted


def test_a_baseline_score_must_be_finite() -> None:
    with pytest.raises(ValueError, match="baseline_score must be a finite number"):
        decide(2, 0.9, None, None, margin=0.0, higher_is_better=True, baseline=Baseline("coin", math.nan))
