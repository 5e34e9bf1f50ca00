from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from sklearn.linear_model import LogisticRegression

from libs.settings import Settings, disable_telemetry
from libs.tracking import (
    Lineage,
    RollbackError,
    champion,
    gate,
    load_champion_model,
    log_sklearn_model,
    promote,
    register_model,
    rollback,
    tracked_run,
)

disable_telemetry()

LINEAGE = Lineage(git_commit="c" * 40, git_dirty=False, lockfile_sha256="d" * 64, resolve="agent3")
FEATURES = np.random.default_rng(7).normal(size=(50, 3))
LABELS = (FEATURES[:, 0] + 0.5 * FEATURES[:, 1] > 0).astype(int)
PREVIOUS = "previous_champion"


@pytest.fixture(scope="module")
def logged_run(settings: Settings) -> Iterator[str]:
    """One run holding a tiny model; each test registers it as many versions as it needs."""
    model = LogisticRegression().fit(FEATURES, LABELS)
    with tracked_run("registry-test", params={"C": 1.0}, lineage=LINEAGE, settings=settings) as run:
        log_sklearn_model(model, name="model")
    yield run.info.run_id


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    return f"model-{request.node.name}".replace("[", "-").replace("]", "")


def client(settings: Settings) -> MlflowClient:
    return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri)


def new_version(settings: Settings, run_id: str, name: str) -> ModelVersion:
    return register_model(run_id, "model", name, settings=settings)


def champion_version(settings: Settings, name: str) -> str | None:
    found = champion(name, settings=settings)
    return None if found is None else str(found.version)


def test_first_model_becomes_champion_with_its_lineage(
    settings: Settings, logged_run: str, name: str
) -> None:
    assert champion(name, settings=settings) is None  # no such model yet
    first = new_version(settings, logged_run, name)
    assert first.status == "READY"
    assert first.tags["lineage.git_commit"] == "c" * 40
    assert champion(name, settings=settings) is None  # registered, never promoted

    decision = gate(name, first.version, 0.91, None, margin=0.01, higher_is_better=True, settings=settings)
    assert decision.promoted
    assert "no champion yet" in decision.reason
    promote(name, first.version, settings=settings)

    assert champion_version(settings, name) == "1"
    tags = client(settings).get_model_version(name, "1").tags
    assert tags["gate.decision"] == "promoted"
    assert tags["gate.champion_score"] == "none"
    assert PREVIOUS not in tags
    run_tags = client(settings).get_run(logged_run).data.tags
    assert run_tags["gate.challenger_version"] == "1"


@pytest.mark.parametrize(
    ("challenger_score", "champion_score", "margin", "higher_is_better", "promoted"),
    [
        (0.85, 0.90, 0.01, True, False),  # worse
        (0.92, 0.90, 0.05, True, False),  # better by less than the margin
        (0.96, 0.90, 0.05, True, True),  # better by more than the margin
        (12.0, 10.0, 0.5, False, False),  # higher error: worse
        (9.8, 10.0, 0.5, False, False),  # lower error, by less than the margin
        (9.0, 10.0, 0.5, False, True),  # lower error, by more than the margin
    ],
)
def test_gate_against_the_champion(
    settings: Settings,
    logged_run: str,
    name: str,
    challenger_score: float,
    champion_score: float,
    margin: float,
    higher_is_better: bool,
    promoted: bool,
) -> None:
    promote(name, new_version(settings, logged_run, name).version, settings=settings)
    challenger = new_version(settings, logged_run, name)

    decision = gate(
        name,
        challenger.version,
        challenger_score,
        champion_score,
        margin=margin,
        higher_is_better=higher_is_better,
        settings=settings,
    )
    if decision.promoted:
        promote(name, challenger.version, settings=settings)

    assert decision.promoted is promoted
    assert (decision.challenger_version, decision.champion_version) == ("2", "1")
    assert f"{challenger_score:g}" in decision.reason and f"{champion_score:g}" in decision.reason
    assert f"margin {margin:g}" in decision.reason
    assert champion_version(settings, name) == ("2" if promoted else "1")
    tags = client(settings).get_model_version(name, "2").tags
    assert tags["gate.decision"] == ("promoted" if promoted else "rejected")
    assert tags["gate.reason"] == decision.reason
    assert float(tags["gate.challenger_score"]) == challenger_score
    assert float(tags["gate.champion_score"]) == champion_score


def test_gate_refuses_to_compare_without_the_champions_score(
    settings: Settings, logged_run: str, name: str
) -> None:
    promote(name, new_version(settings, logged_run, name).version, settings=settings)
    challenger = new_version(settings, logged_run, name)
    with pytest.raises(ValueError, match="champion v1"):
        gate(name, challenger.version, 0.9, None, margin=0.0, higher_is_better=True, settings=settings)


def test_promotion_records_the_previous_champion_and_rollback_returns_to_it(
    settings: Settings, logged_run: str, name: str
) -> None:
    for _ in range(3):
        promote(name, new_version(settings, logged_run, name).version, settings=settings)
    assert champion_version(settings, name) == "3"
    assert client(settings).get_model_version(name, "3").tags[PREVIOUS] == "2"

    assert str(rollback(name, settings=settings).version) == "2"
    assert champion_version(settings, name) == "2"
    assert client(settings).get_model_version(name, "3").tags["rolled_back"] == "true"
    assert str(rollback(name, settings=settings).version) == "1"

    with pytest.raises(RollbackError, match="no previous champion"):
        rollback(name, settings=settings)
    assert champion_version(settings, name) == "1"
    assert client(settings).get_registered_model(name).tags["champion_history"] == "1,2,3,2,1"


def test_rollback_without_a_champion_is_a_clear_error(settings: Settings, logged_run: str, name: str) -> None:
    new_version(settings, logged_run, name)
    with pytest.raises(RollbackError, match="no champion"):
        rollback(name, settings=settings)


def test_champion_model_loads_back_and_predicts_like_the_original(
    settings: Settings, logged_run: str, name: str
) -> None:
    assert load_champion_model(name, settings=settings) is None
    promote(name, new_version(settings, logged_run, name).version, settings=settings)

    loaded = load_champion_model(name, settings=settings)

    assert isinstance(loaded, LogisticRegression)
    expected = LogisticRegression().fit(FEATURES, LABELS).predict_proba(FEATURES)
    np.testing.assert_allclose(loaded.predict_proba(FEATURES), expected)
