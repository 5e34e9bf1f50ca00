"""The register stage: log the challenger with its lineage, gate it against its baseline and the
champion, then promote it or put it in shadow as the agent's ``gate:`` policy says
(``libs.tracking.policy``).

Both models are scored by the same function on the same held-out rows, so the gate compares like
with like; the baseline's score is the evaluate stage's ``baseline.<metric>`` in metrics.json, on
the same rows. The decision, with its numbers, is written to the stage's output and to the registry.
The output holds no run id: DVC records its md5 in the committed dvc.lock, so it must be the same
bytes for the same inputs and registry (the version names the run, `cli show` prints it).

MLflow and the registry helpers are imported by the functions that use them: every stage program
imports this package, and MLflow's import (about 2 s) would otherwise start each validate,
features, train and evaluate stage too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from libs.pipeline.context import StageContext
from libs.warehouse import atomic_write_json

if TYPE_CHECKING:
    import pandas as pd

    from libs.tracking import Baseline


@dataclass(frozen=True)
class RegistrationSpec:
    model_name: str
    metric: str
    higher_is_better: bool
    margin: float
    input_paths: Sequence[Path]
    # The evaluate stage's plot data (DVC renders it: `dvc plots show`); logged under `plots/` so a
    # run in MLflow carries the curves its gate decision rests on. The register stage's deps list them.
    plot_paths: Sequence[Path] = ()


def load_champion(model_name: str) -> tuple[object, str] | None:
    """The registered champion and its version, or None before the first promotion."""
    from libs.tracking import champion as champion_version
    from libs.tracking import load_sklearn_model

    version = champion_version(model_name)
    if version is None:
        return None
    return load_sklearn_model(model_name, version.version), str(version.version)


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(str(name)) for name in list(names)[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


class OnItsOwnColumns:
    """A champion that picks the columns it was trained on from the challenger's rows.

    When features are added, the score function hands every model the challenger's columns; the
    champion then predicts from its own subset of the same rows, so the two are still compared on the
    same held-out data.
    """

    _PREDICTING = ("predict", "predict_proba", "decision_function", "score_samples")

    def __init__(self, model: object, columns: Sequence[str]) -> None:
        self.model = model
        self.columns = list(columns)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.model, name)
        if name not in self._PREDICTING:
            return attribute
        return lambda frame, *args, **kwargs: attribute(frame[self.columns], *args, **kwargs)


def comparable_champion(champion: object, columns: Sequence[str], model_name: str, version: str) -> object:
    """The champion, scored on the challenger's rows; refused by name when it cannot be.

    A champion trained on fewer columns (features were added) is scored on its own ones. One that
    needs columns the challenger's rows lack (features removed or renamed, or an agent deleted and
    created again under the same name on other data) cannot be scored on the same rows.
    """
    trained_on = getattr(champion, "feature_names_in_", None)
    if trained_on is None or list(trained_on) == list(columns):
        return champion
    missing = [str(name) for name in trained_on if name not in set(columns)]
    if not missing:
        return OnItsOwnColumns(champion, [str(name) for name in trained_on])
    raise RuntimeError(
        f"{model_name}'s champion v{version} needs columns the challenger's rows lack ({_listed(missing)}):"
        " the gate cannot score both on the same rows. If the features changed on purpose, register the"
        " new model under a new name (the agent's MODEL_NAME); if the agent was deleted and made again,"
        " its old registered model is still there: rename this one"
    )


def metrics_baseline(metrics: dict[str, Any], metric: str) -> Baseline:
    """The evaluate stage's naive baseline for ``metric``; its absence fails the stage, not the gate.

    Every evaluate stage scores a baseline on the held-out rows (``{"baseline": {"name": ...,
    metric: score}}``); without it an agent's first model would ship whatever its score.
    """
    from libs.tracking import Baseline

    section = metrics.get("baseline")
    score = section.get(metric) if isinstance(section, dict) else None
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ValueError(
            f"metrics.json has no number at baseline.{metric}: the evaluate stage must score a naive "
            "baseline on the held-out rows, which the gate's challenger has to beat"
        )
    name = section.get("name") if isinstance(section, dict) else None
    return Baseline(name=str(name or "baseline"), score=float(score))


def register_and_gate(
    ctx: StageContext,
    spec: RegistrationSpec,
    *,
    model: object,
    score: Callable[[object], float],
    input_example: pd.DataFrame,
) -> None:
    import mlflow

    from libs.tracking import (
        GatePolicy,
        apply_policy,
        collect_lineage,
        gate,
        log_data_inputs,
        log_evaluation_metrics,
        log_sklearn_model,
        register_model,
        tracked_run,
    )

    policy = GatePolicy.from_params(ctx.section("gate"))
    metrics = json.loads(ctx.out("metrics.json").read_text(encoding="utf-8"))
    baseline = metrics_baseline(metrics, spec.metric)
    lineage = collect_lineage(input_paths=list(spec.input_paths), resolve=ctx.agent, params=ctx.params)
    challenger_score = score(model)
    current = load_champion(spec.model_name)
    champion_score = None
    if current is not None:
        champion_score = score(
            comparable_champion(current[0], list(input_example.columns), spec.model_name, current[1])
        )
    with tracked_run(ctx.agent, run_name=f"{ctx.agent}-register", params=ctx.params, lineage=lineage) as run:
        mlflow.log_metric(f"holdout_{spec.metric}", challenger_score)
        log_evaluation_metrics(metrics)
        mlflow.log_dict(metrics, "metrics.json")
        log_data_inputs(list(spec.input_paths), lineage)
        mlflow.log_artifact(str(ctx.params_path), artifact_path="params")
        for plot in spec.plot_paths:
            mlflow.log_artifact(str(plot), artifact_path="plots")
        log_sklearn_model(model, name="model", input_example=input_example)
        version = register_model(run.info.run_id, f"runs:/{run.info.run_id}/model", spec.model_name)
        decision = gate(
            spec.model_name,
            version.version,
            challenger_score,
            champion_score,
            margin=spec.margin,
            higher_is_better=spec.higher_is_better,
            baseline=baseline,
        )
        outcome, _ = apply_policy(spec.model_name, decision, policy)
    atomic_write_json(
        {
            "model_name": spec.model_name,
            "challenger_version": str(version.version),
            "champion_version": (
                str(version.version) if outcome == "champion" else (current[1] if current else None)
            ),
            "shadow_version": str(version.version) if outcome == "shadow" else None,
            "outcome": outcome,
            "require_approval": policy.require_approval,
            "metric": spec.metric,
            "higher_is_better": spec.higher_is_better,
            "margin": spec.margin,
            "challenger_score": challenger_score,
            "champion_score": champion_score,
            "baseline_name": baseline.name,
            "baseline_score": baseline.score,
            "promoted": decision.promoted,
            "reason": decision.reason,
        },
        ctx.out("registration.json"),
    )
    print(f"{spec.model_name}: {decision.reason}" + ("; in shadow" if outcome == "shadow" else ""))
