"""The gate's decision for a pull request: the head's challenger against the base branch's champion.

A pull request's runner has its own empty registry, so the decision its register stage records
says nothing about the team's champion. Both branches' `registration.json` files (the register
stage's output) hold what the decision needs: the base's champion and its score on the held-out
rows, and the head's challenger with the gate policy (metric, direction, margin) and its baseline's
score on the same rows. The rule is the registry gate's own (`decide`), so a preview and main's real
decision cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from libs.tracking.gate import Baseline, GateDecision, decide, improvement

HEAD_VERSION = "PR"


def base_champion(base: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """The champion the base branch left, and its score: the challenger if the base promoted it."""
    if base.get("promoted"):
        return str(base["challenger_version"]), float(base["challenger_score"])
    if base.get("champion_version") is None or base.get("champion_score") is None:
        return None, None
    return str(base["champion_version"]), float(base["champion_score"])


def head_baseline(head: Mapping[str, Any]) -> Baseline | None:
    """The head's baseline; None for a registration.json written before the gate had one."""
    if head.get("baseline_score") is None:
        return None
    return Baseline(name=str(head.get("baseline_name") or "baseline"), score=float(head["baseline_score"]))


def preview(base: Mapping[str, Any] | None, head: Mapping[str, Any]) -> GateDecision:
    """What main's register stage will decide for the head's model, given the base's champion."""
    version, score = base_champion(base) if base is not None else (None, None)
    return decide(
        HEAD_VERSION,
        float(head["challenger_score"]),
        version,
        score,
        margin=float(head["margin"]),
        higher_is_better=bool(head["higher_is_better"]),
        baseline=head_baseline(head),
    )


def describe(decision: GateDecision, metric: str) -> str:
    verdict = "would be promoted" if decision.promoted else "champion kept"
    direction = "higher" if decision.higher_is_better else "lower"
    below = ""
    if decision.baseline is not None and not decision.beats_baseline:
        below = (
            f"does not beat the baseline ({decision.baseline.name}) {decision.baseline.score:.6g}"
            f" ({direction} is better)"
        )
    if decision.champion_score is None:
        if below:
            return f"**would be rejected**: {metric} {decision.challenger_score:.6g} (this PR) {below}"
        return f"**{verdict}**: {metric} {decision.challenger_score:.6g}, no champion on the base branch"
    gain = improvement(decision.challenger_score, decision.champion_score, decision.higher_is_better)
    return (
        f"**{verdict}**: {metric} {decision.champion_score:.6g} (base champion "
        f"v{decision.champion_version}) -> {decision.challenger_score:.6g} (this PR), improvement "
        f"{gain:+.6g} against a margin of {decision.margin:.6g} ({direction} is better)"
        + (f"; this PR {below}" if below else "")
    )
