"""agent2, demand forecaster: validate -> features -> train -> evaluate -> register.

Learns next-day demand per store and product from the history agent1 did not flag, so injected
anomalies (huge one-off quantities) do not teach it phantom demand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error

from agents.agent2.model import FEATURES, SEASONAL_NAIVE, TARGET, build_model
from libs.modelfiles import load_model, save_model
from libs.pipeline import RegistrationSpec, StageContext, register_and_gate
from libs.pipeline.export import export_champion
from libs.pipeline.validation import validate_inputs
from libs.schemas import (
    CleanHistoryInputSchema,
    DemandFeatureSchema,
    ProductSchema,
    StoreSchema,
    TransactionSchema,
    validate_frame,
)
from libs.warehouse import atomic_write_json, atomic_write_parquet, atomic_write_text, load_sql, run_query

MODEL_NAME = "agent2-demand-forecaster"
SQL_DIR = Path(__file__).parent


def validate(ctx: StageContext) -> None:
    validate_inputs(
        ctx,
        {"transactions": TransactionSchema, "stores": StoreSchema, "products": ProductSchema},
        upstream={"agent1 scores": ("agent1", "scores.parquet", CleanHistoryInputSchema)},
    )


def features(ctx: StageContext) -> None:
    params = ctx.section("features")
    frame = run_query(
        load_sql(SQL_DIR, "features"),
        tables={
            "transactions": ctx.raw("transactions"),
            "stores": ctx.raw("stores"),
            "products": ctx.raw("products"),
            "scores": ctx.upstream("agent1", "scores.parquet"),
        },
        params={"holdout_days": int(params["holdout_days"])},
    )
    atomic_write_parquet(
        validate_frame(frame, DemandFeatureSchema, dataset="agent2 features"), ctx.out("features.parquet")
    )


def _split(ctx: StageContext, split: str) -> pd.DataFrame:
    frame = pd.read_parquet(ctx.out("features.parquet"))
    return frame[frame["split"] == split].reset_index(drop=True)


def train(ctx: StageContext) -> None:
    frame = _split(ctx, "train")
    model = build_model(ctx.section("train")).fit(frame[FEATURES], frame[TARGET])
    save_model(model, ctx.out("model.skops"))


def _mae(model: object, holdout: pd.DataFrame) -> float:
    predictions = np.clip(model.predict(holdout[FEATURES]), 0, None)  # type: ignore[attr-defined]
    return float(mean_absolute_error(holdout[TARGET], predictions))


def evaluate(ctx: StageContext) -> None:
    """MAE on the held-out last days against the seasonal naive forecast (same weekday last week)."""
    model = load_model(ctx.out("model.skops"))
    holdout = _split(ctx, "holdout")
    predictions = np.clip(model.predict(holdout[FEATURES]), 0, None)  # type: ignore[attr-defined]
    model_mae = float(mean_absolute_error(holdout[TARGET], predictions))
    naive_mae = float(mean_absolute_error(holdout[TARGET], holdout[SEASONAL_NAIVE]))
    atomic_write_json(
        {
            "model": {"mae": model_mae},
            "baseline": {"name": "seasonal naive (lag 7 days)", "mae": naive_mae},
            "improvement_over_baseline": 1 - model_mae / naive_mae if naive_mae else None,
            "holdout_rows": len(holdout),
        },
        ctx.out("metrics.json"),
    )
    sample = holdout.assign(predicted=predictions).sample(n=min(len(holdout), 2000), random_state=0)
    atomic_write_text(
        sample[["store_id", "product_id", "date", TARGET, "predicted"]]
        .rename(columns={TARGET: "actual"})
        .to_csv(index=False),
        ctx.out("predictions.csv"),
    )


def register(ctx: StageContext) -> None:
    holdout = _split(ctx, "holdout")
    register_and_gate(
        ctx,
        RegistrationSpec(
            model_name=MODEL_NAME,
            metric="mae",
            higher_is_better=False,
            margin=float(ctx.section("gate")["margin"]),
            input_paths=[
                ctx.raw("transactions"),
                ctx.raw("stores"),
                ctx.raw("products"),
                ctx.upstream("agent1", "scores.parquet"),
            ],
            plot_paths=[ctx.out("predictions.csv")],
        ),
        model=load_model(ctx.out("model.skops")),
        score=lambda model: _mae(model, holdout),
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
