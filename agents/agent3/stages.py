"""agent3, churn classifier: validate -> features -> train -> evaluate -> register."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split

from agents.agent3.model import BASELINE_FEATURE, FEATURES, TARGET, build_baseline, build_model
from libs.modelfiles import load_model, save_model
from libs.pipeline import RegistrationSpec, StageContext, register_and_gate
from libs.pipeline.export import export_champion
from libs.pipeline.validation import validate_inputs
from libs.schemas import (
    CustomerFeatureSchema,
    CustomerSchema,
    DataValidationError,
    TransactionSchema,
    validate_frame,
)
from libs.warehouse import atomic_write_json, atomic_write_parquet, atomic_write_text, load_sql, run_query

MODEL_NAME = "agent3-churn-classifier"
SQL_DIR = Path(__file__).parent
MIN_CUSTOMERS_PER_CLASS = 2  # a stratified split puts customers of each class on both sides


def _check_splittable(ever_churned: pd.Series) -> None:
    """Raw data can pass its contracts yet leave no customer to learn from (every one churned before
    ``min_history_days``, say); that is a data problem to report, not a stack trace from the split."""
    counts = ever_churned.value_counts()
    found = {label: int(counts.get(flag, 0)) for label, flag in (("churned", True), ("stayed", False))}
    if min(found.values()) < MIN_CUSTOMERS_PER_CLASS:
        raise DataValidationError(
            f"dataset 'agent3 features': {len(ever_churned)} customers have a snapshot ({found['churned']}"
            f" churned, {found['stayed']} stayed); the split needs at least {MIN_CUSTOMERS_PER_CLASS} of"
            " each. Check the customers' dates against features.min_history_days and horizon_days",
            dataset="agent3 features",
        )


def validate(ctx: StageContext) -> None:
    validate_inputs(ctx, {"customers": CustomerSchema, "transactions": TransactionSchema})


def features(ctx: StageContext) -> None:
    params = ctx.section("features")
    frame = run_query(
        load_sql(SQL_DIR, "features"),
        tables={"customers": ctx.raw("customers"), "transactions": ctx.raw("transactions")},
        params={
            key: int(params[key])
            for key in ("horizon_days", "snapshot_every_days", "n_snapshots", "min_history_days")
        },
    )
    ever_churned = frame.groupby("customer_id")[TARGET].any()
    _check_splittable(ever_churned)
    try:
        train_ids, _ = train_test_split(
            ever_churned.index,
            test_size=float(params["holdout_fraction"]),
            stratify=ever_churned.to_numpy(),
            random_state=int(params["random_state"]),
        )
    except ValueError as error:  # too few customers for holdout_fraction to hold both classes
        raise DataValidationError(
            f"dataset 'agent3 features': {len(ever_churned)} customers cannot be split with"
            f" holdout_fraction {params['holdout_fraction']}: {error}",
            dataset="agent3 features",
        ) from None
    frame["split"] = np.where(frame["customer_id"].isin(train_ids), "train", "holdout")
    atomic_write_parquet(
        validate_frame(frame, CustomerFeatureSchema, dataset="agent3 features"), ctx.out("features.parquet")
    )


def _split(ctx: StageContext, split: str) -> pd.DataFrame:
    frame = pd.read_parquet(ctx.out("features.parquet"))
    return frame[frame["split"] == split].reset_index(drop=True)


def train(ctx: StageContext) -> None:
    params = ctx.section("train")
    frame = _split(ctx, "train")
    model = build_model(
        list(params["formulas"]),
        regularization=float(params["regularization"]),
        max_iter=int(params["max_iter"]),
    ).fit(frame[FEATURES], frame[TARGET])
    save_model(model, ctx.out("model.skops"))


def _churn_probability(model: object, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(frame[FEATURES])[:, 1])  # type: ignore[attr-defined]


def _auc(model: object, holdout: pd.DataFrame) -> float:
    return float(roc_auc_score(holdout[TARGET], _churn_probability(model, holdout)))


def evaluate(ctx: StageContext) -> None:
    """ROC AUC on held-out customers against a one-feature logistic regression on recency."""
    model = load_model(ctx.out("model.skops"))
    train_frame, holdout = _split(ctx, "train"), _split(ctx, "holdout")
    probabilities = _churn_probability(model, holdout)
    baseline = build_baseline().fit(train_frame[[BASELINE_FEATURE]], train_frame[TARGET])
    baseline_auc = float(
        roc_auc_score(holdout[TARGET], baseline.predict_proba(holdout[[BASELINE_FEATURE]])[:, 1])
    )
    model_auc = float(roc_auc_score(holdout[TARGET], probabilities))
    atomic_write_json(
        {
            "model": {"roc_auc": model_auc},
            "baseline": {"name": f"logistic regression on {BASELINE_FEATURE}", "roc_auc": baseline_auc},
            "auc_gain_over_baseline": model_auc - baseline_auc,
            "holdout_rows": len(holdout),
            "holdout_churn_rate": float(holdout[TARGET].mean()),
        },
        ctx.out("metrics.json"),
    )
    fpr, tpr, _ = roc_curve(holdout[TARGET], probabilities)
    atomic_write_text(pd.DataFrame({"fpr": fpr, "tpr": tpr}).to_csv(index=False), ctx.out("roc.csv"))
    fraction_positive, mean_predicted = calibration_curve(holdout[TARGET], probabilities, n_bins=10)
    atomic_write_text(
        pd.DataFrame({"mean_predicted": mean_predicted, "fraction_positive": fraction_positive}).to_csv(
            index=False
        ),
        ctx.out("calibration.csv"),
    )


def register(ctx: StageContext) -> None:
    holdout = _split(ctx, "holdout")
    register_and_gate(
        ctx,
        RegistrationSpec(
            model_name=MODEL_NAME,
            metric="roc_auc",
            higher_is_better=True,
            margin=float(ctx.section("gate")["margin"]),
            input_paths=[ctx.raw("customers"), ctx.raw("transactions")],
            plot_paths=[ctx.out("roc.csv"), ctx.out("calibration.csv")],
        ),
        model=load_model(ctx.out("model.skops")),
        score=lambda model: _auc(model, holdout),
        input_example=holdout[FEATURES].head(5),
    )


def export(ctx: StageContext) -> None:
    export_champion(ctx, MODEL_NAME)


STAGES = {
    "validate": validate,
    "features": features,
    "train": train,
    "evaluate": evaluate,
    "register": register,
    "export": export,
}
