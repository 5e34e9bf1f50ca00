"""The promotion gate: a first model must beat its naive baseline, a later one the champion by a margin.

All scores must come from the same evaluation on the same held-out rows (the caller scores the
champion via ``load_champion_model``; the evaluate stage scores the baseline); the gate compares
numbers and records its decision, with them, on the challenger's model version and on the run that
produced it. The baseline rule is what stops an agent's first model, which has no champion to
beat, from shipping when it is no better than last week's demand or a coin toss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlflow.entities import RunTag

from libs.settings import Settings
from libs.tracking.registry import current_champion, model_version
from libs.tracking.uris import client_for

TAG_PREFIX = "gate."
_REL_TOL = 1e-9
_ABS_TOL = 1e-12


def _num(value: float) -> str:
    return f"{value:.6g}"


@dataclass(frozen=True)
class Baseline:
    """The naive model every challenger must beat, scored by the evaluate stage on the same rows."""

    name: str
    score: float


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    reason: str
    challenger_version: str
    challenger_score: float
    champion_version: str | None
    champion_score: float | None
    margin: float
    higher_is_better: bool
    baseline: Baseline | None = None

    def as_tags(self) -> dict[str, str]:
        return {
            f"{TAG_PREFIX}decision": "promoted" if self.promoted else "rejected",
            f"{TAG_PREFIX}reason": self.reason,
            f"{TAG_PREFIX}challenger_version": self.challenger_version,
            f"{TAG_PREFIX}challenger_score": repr(self.challenger_score),
            f"{TAG_PREFIX}champion_version": self.champion_version or "none",
            f"{TAG_PREFIX}champion_score": (
                "none" if self.champion_score is None else repr(self.champion_score)
            ),
            f"{TAG_PREFIX}margin": repr(self.margin),
            f"{TAG_PREFIX}higher_is_better": str(self.higher_is_better).lower(),
            f"{TAG_PREFIX}baseline": "none" if self.baseline is None else self.baseline.name,
            f"{TAG_PREFIX}baseline_score": "none" if self.baseline is None else repr(self.baseline.score),
        }

    @property
    def beats_baseline(self) -> bool:
        """False only when a baseline was given and the challenger does not strictly beat it."""
        if self.baseline is None:
            return True
        return _beats(improvement(self.challenger_score, self.baseline.score, self.higher_is_better))


def _check_finite(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value}")


def improvement(score: float, reference: float, higher_is_better: bool) -> float:
    """How much better ``score`` is than ``reference``, in the metric's own direction."""
    return (score - reference if higher_is_better else reference - score) + 0.0  # no "-0" for a tie


def _beats(gain: float) -> bool:
    """Strictly better: a tie up to float rounding is not."""
    return gain > 0 and not math.isclose(gain, 0.0, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)


def _below_baseline(challenger: str, challenger_score: float, baseline: Baseline, higher: bool) -> str:
    gain = improvement(challenger_score, baseline.score, higher)
    against = f"the baseline ({baseline.name})'s {_num(baseline.score)}"
    direction = "higher is better" if higher else "lower is better"
    tie = math.isclose(gain, 0.0, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)
    how = f"equals {against}" if tie else f"is worse than {against} by {_num(-gain)}"
    compared = f"score {_num(challenger_score)} {how} ({direction})"
    return f"rejected v{challenger}: {compared}; a model must beat its baseline"


def _comparison(improvement: float, champion: str, champion_score: float, higher: bool) -> str:
    against = f"champion v{champion}'s {_num(champion_score)}"
    direction = "higher is better" if higher else "lower is better"
    if improvement > 0:
        return f"beats {against} by {_num(improvement)} ({direction})"
    if improvement < 0:
        return f"is worse than {against} by {_num(-improvement)} ({direction})"
    return f"equals {against}"


def _verdict(
    challenger: str,
    challenger_score: float,
    champion: str,
    champion_score: float,
    margin: float,
    higher: bool,
) -> tuple[bool, str]:
    gain = improvement(challenger_score, champion_score, higher)
    passed = gain > margin or math.isclose(gain, margin, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)
    compared = f"score {_num(challenger_score)} {_comparison(gain, champion, champion_score, higher)}"
    if passed:
        return True, f"promoted v{challenger}: {compared}, at least the margin {_num(margin)}"
    return False, (
        f"rejected v{challenger}: {compared}; promotion needs an improvement of at least "
        f"the margin {_num(margin)}, champion v{champion} kept"
    )


def decide(
    challenger_version: str | int,
    challenger_score: float,
    champion_version: str | int | None,
    champion_score: float | None,
    *,
    margin: float,
    higher_is_better: bool,
    baseline: Baseline | None = None,
) -> GateDecision:
    """The rule alone, no registry: with no champion, the challenger must beat ``baseline``; with
    one, the improvement over the champion must reach ``margin``.

    A first model no better than the naive rule (a tie included) is not worth serving. Once a
    champion serves, the comparison that matters is with it: drift can push both below the baseline,
    and refusing a better challenger then would keep the worse model serving; the reason says the
    challenger is still below the baseline. An improvement equal to the margin up to float rounding
    passes (0.85 - 0.80 vs 0.05).
    """
    _check_finite(
        challenger_score=challenger_score,
        champion_score=champion_score,
        margin=margin,
        baseline_score=None if baseline is None else baseline.score,
    )
    challenger = str(challenger_version)
    if (champion_version is None) != (champion_score is None):
        raise ValueError("champion_version and champion_score must both be given, or neither")
    below = baseline is not None and not _beats(
        improvement(challenger_score, baseline.score, higher_is_better)
    )
    if champion_version is None or champion_score is None:
        if below:
            assert baseline is not None
            promoted, reason = False, _below_baseline(
                challenger, challenger_score, baseline, higher_is_better
            )
        else:
            promoted = True
            reason = f"promoted v{challenger} (score {_num(challenger_score)}): no champion yet"
    else:
        promoted, reason = _verdict(
            challenger, challenger_score, str(champion_version), champion_score, margin, higher_is_better
        )
        if below:  # better than what serves is still worth serving; the miss is said, not hidden
            assert baseline is not None
            reason += f"; below the baseline ({baseline.name})'s {_num(baseline.score)}"
    return GateDecision(
        promoted=promoted,
        reason=reason,
        challenger_version=challenger,
        challenger_score=challenger_score,
        champion_version=None if champion_version is None else str(champion_version),
        champion_score=champion_score,
        margin=margin,
        higher_is_better=higher_is_better,
        baseline=baseline,
    )


def gate(
    name: str,
    challenger_version: str | int,
    challenger_score: float,
    champion_score: float | None,
    *,
    margin: float,
    higher_is_better: bool,
    baseline: Baseline | None = None,
    settings: Settings | None = None,
) -> GateDecision:
    """Decides against the registry's current champion and records the decision; it does not promote.

    ``champion_score`` must be given exactly when a champion exists, so a stale view of the
    registry fails loudly instead of gating against the wrong model.
    """
    client = client_for(settings)
    challenger = model_version(client, name, challenger_version)
    current = current_champion(client, name)
    if current is not None and str(current.version) == str(challenger.version):
        raise ValueError(f"v{challenger.version} is already the champion of '{name}'; gate a new version")
    if current is not None and champion_score is None:
        raise ValueError(
            f"'{name}' has champion v{current.version}: score it on the same data, pass champion_score"
        )
    if current is None and champion_score is not None:
        raise ValueError(f"'{name}' has no champion, yet a champion_score was given")
    decision = decide(
        challenger.version,
        challenger_score,
        None if current is None else current.version,
        champion_score,
        margin=margin,
        higher_is_better=higher_is_better,
        baseline=baseline,
    )
    tags = decision.as_tags()
    for key, value in tags.items():
        client.set_model_version_tag(name, str(challenger.version), key, value)
    if challenger.run_id:
        client.log_batch(challenger.run_id, tags=[RunTag(key, value) for key, value in tags.items()])
    return decision
