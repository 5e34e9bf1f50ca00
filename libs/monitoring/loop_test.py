"""The loop's last step under a shadow policy, with real subprocesses standing in for monitor and DVC."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from libs.monitoring.loop import AWAITING_APPROVAL, retrain_if_drifted

DRIFTED = [sys.executable, "-c", "raise SystemExit(3)"]


def _register(outcome: str, require_approval: bool) -> list[str]:
    """A stand-in for ``dvc repro`` that writes the register stage's output as the real one would."""
    decision = {
        "model_name": "demand_forecaster",
        "challenger_version": "4",
        "champion_version": "3" if outcome == "shadow" else "4",
        "shadow_version": "4" if outcome == "shadow" else None,
        "outcome": outcome,
        "require_approval": require_approval,
        "promoted": True,
        "reason": "promoted v4: score 1.1 beats champion v3's 1.3 by 0.2",
    }
    script = (
        "import json, pathlib, sys; p = pathlib.Path('data/agent2/registration.json'); "
        f"p.parent.mkdir(parents=True, exist_ok=True); p.write_text({json.dumps(json.dumps(decision))})"
    )
    return [sys.executable, "-c", script]


def test_a_shadow_that_needs_approval_stops_the_loop_and_says_how_to_approve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = retrain_if_drifted("agent2", monitor=DRIFTED, dvc=_register("shadow", True))
    out = capsys.readouterr().out
    assert code == AWAITING_APPROVAL
    assert "challenger v4 put in shadow; champion is v3" in out
    assert "awaiting approval: v4 of demand_forecaster is in shadow beside champion v3" in out
    assert "libs/tracking:cli -- approve demand_forecaster 4 --by NAME --reason TEXT" in out
    assert "libs/tracking:cli -- reject demand_forecaster 4 --by NAME --reason TEXT" in out


@pytest.mark.parametrize(("outcome", "require_approval"), [("shadow", False), ("champion", False)])
def test_without_required_approval_the_loop_finishes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    outcome: str,
    require_approval: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert retrain_if_drifted("agent2", monitor=DRIFTED, dvc=_register(outcome, require_approval)) == 0
    assert "awaiting approval" not in capsys.readouterr().out
