"""The demand forecaster's model: a Poisson gradient-boosted regressor over lag and calendar features.

Store and product are categorical features, so one model learns every series and still tells them
apart; the seasonal-naive baseline is last week's same-day demand (``lag_7``).
"""

from __future__ import annotations

from collections.abc import Mapping

from sklearn.ensemble import HistGradientBoostingRegressor

FEATURES = [
    "store_id",
    "product_id",
    "lag_1",
    "lag_7",
    "lag_14",
    "rolling_mean_7",
    "rolling_mean_28",
    "day_of_week",
    "month",
    "promo_share",
]
TARGET = "quantity"
SEASONAL_NAIVE = "lag_7"


def build_model(params: Mapping[str, object]) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        loss="poisson",
        learning_rate=float(params["learning_rate"]),  # type: ignore[arg-type]
        max_iter=int(params["max_iter"]),  # type: ignore[call-overload]
        max_leaf_nodes=int(params["max_leaf_nodes"]),  # type: ignore[call-overload]
        categorical_features=["store_id", "product_id"],
        random_state=int(params["random_state"]),  # type: ignore[call-overload]
    )
