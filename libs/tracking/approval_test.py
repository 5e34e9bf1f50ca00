"""Shadow, approval, rejection and manual promotion against a real MLflow registry (SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from libs.settings import Settings, disable_telemetry
from libs.tracking import (
    GatePolicy,
    Lineage,
    apply_policy,
    champion,
    gate,
    log_sklearn_model,
    promote,
    register_model,
    shadow,
    tracked_run,
)
from libs.tracking.approval import approve, audit_trail, promote_by_hand, put_in_shadow, reject
from libs.tracking.cli import main

disable_telemetry()


@pytest.fixture(scope="module")
def logged_run(settings: Settings) -> Iterator[str]:
    features = np.random.default_rng(5).normal(size=(40, 2))
    model = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    with tracked_run("approval-test", params={}, lineage=Lineage(), settings=settings) as run:
        log_sklearn_model(model, name="model")
    yield run.info.run_id


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    return f"approval-{request.node.name}".replace("[", "-").replace("]", "")


def _version(settings: Settings, run_id: str, name: str) -> str:
    return str(register_model(run_id, "model", name, settings=settings).version)


def _aliases(settings: Settings, name: str) -> tuple[str | None, str | None]:
    found_champion, found_shadow = champion(name, settings=settings), shadow(name, settings=settings)
    return (
        None if found_champion is None else str(found_champion.version),
        None if found_shadow is None else str(found_shadow.version),
    )


def _gated(settings: Settings, run_id: str, name: str, policy: GatePolicy) -> str:
    """v1 champion, then v2 gated past it and handled by ``policy``; returns the outcome."""
    promote(name, _version(settings, run_id, name), settings=settings)
    challenger = _version(settings, run_id, name)
    decision = gate(name, challenger, 0.9, 0.8, margin=0.05, higher_is_better=True, settings=settings)
    outcome, _ = apply_policy(name, decision, policy, settings=settings)
    return outcome


def test_policy_shadow_puts_a_passing_challenger_in_shadow(
    settings: Settings, logged_run: str, name: str
) -> None:
    assert _gated(settings, logged_run, name, GatePolicy(promote="shadow")) == "shadow"
    assert _aliases(settings, name) == ("1", "2")


def test_policy_direct_promotes_at_once(settings: Settings, logged_run: str, name: str) -> None:
    assert _gated(settings, logged_run, name, GatePolicy()) == "champion"
    assert _aliases(settings, name) == ("2", None)


def test_the_first_model_is_champion_even_under_a_shadow_policy(
    settings: Settings, logged_run: str, name: str
) -> None:
    first = _version(settings, logged_run, name)
    decision = gate(name, first, 0.5, None, margin=0.0, higher_is_better=True, settings=settings)
    assert (
        apply_policy(name, decision, GatePolicy(promote="shadow", require_approval=True), settings=settings)[
            0
        ]
        == "champion"
    )
    assert _aliases(settings, name) == ("1", None)


def test_a_failing_challenger_is_neither_champion_nor_shadow(
    settings: Settings, logged_run: str, name: str
) -> None:
    promote(name, _version(settings, logged_run, name), settings=settings)
    challenger = _version(settings, logged_run, name)
    decision = gate(name, challenger, 0.81, 0.8, margin=0.05, higher_is_better=True, settings=settings)
    assert apply_policy(name, decision, GatePolicy(promote="shadow"), settings=settings)[0] == "rejected"
    assert _aliases(settings, name) == ("1", None)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"promote": "canary"}, "gate.promote must be one of direct, shadow"),
        ({"promote": "shadow", "require_approval": "yes"}, "must be true or false"),
        ({"promote": "direct", "require_approval": True}, "needs gate.promote: shadow"),
    ],
)
def test_bad_policies_are_refused(section: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GatePolicy.from_params(section)


def test_approve_promotes_the_shadow_and_records_who_when_why(
    settings: Settings, logged_run: str, name: str, tmp_path: Path
) -> None:
    _gated(settings, logged_run, name, GatePolicy(promote="shadow", require_approval=True))
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"drifted": False, "shadow": {"agreement": 0.97, "verdict": "pass"}}))

    store = settings.mlflow_tracking_uri
    argv = ["--tracking-uri", store, "approve", name, "2", "--by", "Ada", "--reason", "agrees on 97%"]
    assert main([*argv, "--comparison", str(summary)]) == 0

    assert _aliases(settings, name) == ("2", None)
    tags = MlflowClient(tracking_uri=store, registry_uri=store).get_model_version(name, "2").tags
    assert (tags["approval.action"], tags["approval.by"], tags["approval.reason"]) == (
        "approved",
        "Ada",
        "agrees on 97%",
    )
    assert tags["approval.champion_before"] == "1"
    assert tags["approval.at"].endswith("+00:00")
    assert json.loads(tags["approval.comparison"]) == {"agreement": 0.97, "verdict": "pass"}
    assert tags["previous_champion"] == "1"  # so rollback still works after an approval


def test_reject_clears_the_shadow_and_keeps_the_champion(
    settings: Settings, logged_run: str, name: str
) -> None:
    _gated(settings, logged_run, name, GatePolicy(promote="shadow"))
    record = reject(name, "2", by="Grace", reason="disagrees on big stores", settings=settings)
    assert (record.action, record.champion_before) == ("rejected", "1")
    assert _aliases(settings, name) == ("1", None)


def test_only_the_shadow_can_be_approved_or_rejected(settings: Settings, logged_run: str, name: str) -> None:
    _gated(settings, logged_run, name, GatePolicy(promote="shadow"))
    _version(settings, logged_run, name)  # v3, never gated
    for act in (approve, reject):
        with pytest.raises(ValueError, match=r"v3 is not the shadow .* \(the shadow is v2\)"):
            act(name, "3", by="Ada", reason="r", settings=settings)
    with pytest.raises(ValueError, match="--by must not be empty"):
        approve(name, "2", by="  ", reason="r", settings=settings)
    assert _aliases(settings, name) == ("1", "2")  # nothing changed
    assert audit_trail(name, settings=settings) == []


def test_cli_shadow_promote_and_show_print_the_audit_trail(
    settings: Settings, logged_run: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = settings.mlflow_tracking_uri
    for _ in range(3):
        _version(settings, logged_run, name)
    promote(name, "1", settings=settings)
    assert main(["--tracking-uri", store, "shadow", name, "2", "--by", "ops"]) == 0
    assert capsys.readouterr().out.strip() == f"{name}: v2 is now the shadow (champion v1)"
    assert main(["--tracking-uri", store, "shadow", name, "1"]) == 2
    assert "v1 is the champion" in capsys.readouterr().err
    argv = ["--tracking-uri", store, "promote", name, "3", "--by", "Linus", "--reason", "hotfix"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == f"{name}: champion moved from v1 to v3 by Linus"
    assert main(["--tracking-uri", store, "promote", name, "3"]) == 2  # --by and --reason are required
    capsys.readouterr()

    assert main(["--tracking-uri", store, "show", name]) == 0
    out = capsys.readouterr().out
    assert "champion v3" in out and "shadow v2" in out
    assert "v2  READY" in out and "SHADOW" in out
    trail = out.split("audit trail (oldest first):\n")[1].splitlines()
    assert len(trail) == 2
    assert "shadow v2 by ops (champion was v1): put in shadow by hand" in trail[0]
    assert "promoted v3 by Linus (champion was v1): hotfix" in trail[1]


def test_put_in_shadow_replaces_an_earlier_shadow(settings: Settings, logged_run: str, name: str) -> None:
    _gated(settings, logged_run, name, GatePolicy(promote="shadow"))
    third = _version(settings, logged_run, name)
    put_in_shadow(name, third, by="ops", reason="newer candidate", settings=settings)
    assert _aliases(settings, name) == ("1", "3")
    promote_by_hand(name, "3", by="ops", reason="shadow looked good", settings=settings)
    assert _aliases(settings, name) == ("3", None)  # a champion is never its own shadow
    assert [entry["action"] for entry in audit_trail(name, settings=settings)] == ["shadow", "promoted"]
