"""What happens to a challenger that passed the gate: the ``gate:`` section of an agent's params.yaml.

``promote: direct`` makes it champion at once (the behaviour before shadows existed, and the default);
``promote: shadow`` puts it in shadow, scored beside the champion on live traffic but never answering.
``require_approval: true`` says only a person (``cli approve``) turns a shadow into the champion; it
needs ``promote: shadow``, since approval acts on the shadow. The very first model of an agent has no
champion to stand beside, so once it passes the gate (it must beat its baseline) it is promoted
directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mlflow.entities.model_registry import ModelVersion

from libs.settings import Settings
from libs.tracking.gate import GateDecision
from libs.tracking.registry import champion, promote, set_shadow

Outcome = Literal["champion", "shadow", "rejected"]
_MODES = ("direct", "shadow")


@dataclass(frozen=True)
class GatePolicy:
    promote: Literal["direct", "shadow"] = "direct"
    require_approval: bool = False

    @classmethod
    def from_params(cls, gate_section: Mapping[str, Any]) -> GatePolicy:
        """Validates the section so a typo fails the register stage instead of promoting silently."""
        mode = gate_section.get("promote", "direct")
        if mode not in _MODES:
            raise ValueError(f"gate.promote must be one of {', '.join(_MODES)}, got {mode!r}")
        approval = gate_section.get("require_approval", False)
        if not isinstance(approval, bool):
            raise ValueError(f"gate.require_approval must be true or false, got {approval!r}")
        if approval and mode != "shadow":
            raise ValueError(
                "gate.require_approval: true needs gate.promote: shadow (approval promotes a shadow)"
            )
        return cls(promote=mode, require_approval=approval)


def apply_policy(
    name: str, decision: GateDecision, policy: GatePolicy, *, settings: Settings | None = None
) -> tuple[Outcome, ModelVersion | None]:
    """Acts on a recorded gate decision: promote, put in shadow, or leave the challenger alone."""
    if not decision.promoted:
        return "rejected", None
    version = decision.challenger_version
    if policy.promote == "shadow" and champion(name, settings=settings) is not None:
        return "shadow", set_shadow(name, version, settings=settings)
    return "champion", promote(name, version, settings=settings)
