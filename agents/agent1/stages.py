"""agent1, transaction sentinel: validate -> features -> train -> evaluate -> register -> score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from agents.agent1.model import FEATURES, AnomalyScorer
from libs.modelfiles import load_model, save_model
from libs.pipeline import RegistrationSpec, StageContext, register_and_gate
from libs.pipeline.export import export_champion
from libs.pipeline.metrics import histogram_by_label, precision_at_k
from libs.pipeline.registration import load_champion
from libs.pipeline.validation import validate_inputs
from libs.schemas import (
    AnomalyLabelSchema,
    ProductSchema,
    TransactionSchema,
    TransactionScoreSchema,
    validate_frame,
)
from libs.warehouse import (
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    copy_query_to_parquet,
    load_sql,
)

MODEL_NAME = "agent1-transaction-sentinel"
SQL_DIR = Path(__file__).parent


def validate(ctx: StageContext) -> None:
    validate_inputs(
        ctx,
        {
            "transactions": TransactionSchema,
            "products": ProductSchema,
            "anomaly_labels": AnomalyLabelSchema,
        },
    )


def features(ctx: StageContext) -> None:
    params = ctx.section("features")
    copy_query_to_parquet(
        load_sql(SQL_DIR, "features"),
        tables={"transactions": ctx.raw("transactions"), "products": ctx.raw("products")},
        params={"holdout_fraction": float(params["holdout_fraction"])},
        out=ctx.out("features.parquet"),
    )


def _split(ctx: StageContext, split: str) -> pd.DataFrame:
    frame = pd.read_parquet(ctx.out("features.parquet"))
    return frame[frame["split"] == split].reset_index(drop=True)


def train(ctx: StageContext) -> None:
    params = ctx.section("train")
    model = AnomalyScorer(
        n_estimators=int(params["n_estimators"]),
        flag_quantile=float(params["flag_quantile"]),
        random_state=int(params["random_state"]),
    ).fit(_split(ctx, "train"))
    save_model(model, ctx.out("model.skops"))


def _holdout_with_labels(ctx: StageContext) -> tuple[pd.DataFrame, np.ndarray]:
    holdout = _split(ctx, "holdout")
    labels = pd.read_parquet(ctx.raw("anomaly_labels"))
    merged = holdout.merge(labels, on="transaction_id", how="left", validate="one_to_one")
    return merged, merged["is_anomaly"].fillna(False).to_numpy(dtype=bool)


def _precision(model: object, holdout: pd.DataFrame, labels: np.ndarray) -> float:
    scores = model.predict(holdout[FEATURES])  # type: ignore[attr-defined]
    return precision_at_k(labels, scores, k=max(int(labels.sum()), 1))


def evaluate(ctx: StageContext) -> None:
    """Precision at k (k = true anomalies held out) against a random ranking's expected precision."""
    model = load_model(ctx.out("model.skops"))
    holdout, labels = _holdout_with_labels(ctx)
    scores = model.predict(holdout[FEATURES])  # type: ignore[attr-defined]
    k = max(int(labels.sum()), 1)
    precision = precision_at_k(labels, scores, k=k)
    random_precision = float(labels.mean()) if len(labels) else 0.0
    atomic_write_json(
        {
            "model": {"precision_at_k": precision, "k": k},
            "baseline": {"name": "random ranking", "precision_at_k": random_precision},
            "lift_over_baseline": precision / random_precision if random_precision else None,
            "holdout_rows": len(labels),
        },
        ctx.out("metrics.json"),
    )
    histogram = histogram_by_label(scores, labels, bins=20, positive="anomaly", negative="normal")
    atomic_write_text(histogram.to_csv(index=False), ctx.out("score_distribution.csv"))


def register(ctx: StageContext) -> None:
    holdout, labels = _holdout_with_labels(ctx)
    register_and_gate(
        ctx,
        RegistrationSpec(
            model_name=MODEL_NAME,
            metric="precision_at_k",
            higher_is_better=True,
            margin=float(ctx.section("gate")["margin"]),
            input_paths=[ctx.raw("transactions"), ctx.raw("products")],
            plot_paths=[ctx.out("score_distribution.csv")],
        ),
        model=load_model(ctx.out("model.skops")),
        score=lambda model: _precision(model, holdout, labels),
        input_example=holdout[FEATURES].head(5),
    )


def score(ctx: StageContext) -> None:
    """Scores every transaction with the champion: its flags clean the history agent2 learns from."""
    champion = load_champion(MODEL_NAME)
    if champion is None:
        raise RuntimeError(f"no champion registered for {MODEL_NAME}; run the register stage first")
    model, version = champion
    if not isinstance(model, AnomalyScorer):
        raise TypeError(f"champion {MODEL_NAME} v{version} is a {type(model).__name__}, not an AnomalyScorer")
    frame = pd.read_parquet(ctx.out("features.parquet"))
    scores = model.predict(frame[FEATURES])
    result = pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"].astype("int64"),
            "anomaly_score": scores.astype("float64"),
            "is_flagged": model.flag(scores),
            "model_version": str(version),
        }
    )
    atomic_write_parquet(
        validate_frame(result, TransactionScoreSchema, dataset="agent1 scores"), ctx.out("scores.parquet")
    )


def export(ctx: StageContext) -> None:
    export_champion(ctx, MODEL_NAME)


STAGES = {
    "validate": validate,
    "features": features,
    "train": train,
    "evaluate": evaluate,
    "register": register,
    "score": score,
    "export": export,
}
