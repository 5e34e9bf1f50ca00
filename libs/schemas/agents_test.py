import re

import numpy as np
import pandas as pd
import pytest

from libs.schemas import (
    CleanHistoryInputSchema,
    CustomerFeatureSchema,
    DataValidationError,
    DemandFeatureSchema,
    TransactionScoreSchema,
    validate_frame,
)


def agent1_output() -> pd.DataFrame:
    """Built the way agent1's score stage builds it: ids, scores in [0, 1], flags, the version as text."""
    scores = np.array([0.12, 0.995, 0.5, 0.0])
    return pd.DataFrame(
        {
            "transaction_id": pd.Series([10, 11, 12, 13], dtype="int64"),
            "anomaly_score": scores.astype("float64"),
            "is_flagged": scores >= 0.99,
            "model_version": str(3),
        }
    )


def demand_features() -> pd.DataFrame:
    """Shaped like DuckDB's output for agent2: microsecond dates, doubles, a null lag early on."""
    dates = pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-01"]).as_unit("us")
    return pd.DataFrame(
        {
            "store_id": [1, 1, 2],
            "product_id": [7, 7, 7],
            "date": dates,
            "quantity": [3.0, 0.0, 5.0],
            "lag_1": [np.nan, 3.0, 2.0],
            "lag_7": [1.0, 2.0, 0.0],
            "lag_14": [0.0, 4.0, 1.0],
            "rolling_mean_7": [1.5, 1.0, 2.25],
            "rolling_mean_28": [1.2, 1.1, 2.0],
            "day_of_week": [5.0, 6.0, 5.0],
            "month": [3.0, 3.0, 3.0],
            "promo_share": [0.0, 1.0, 0.5],
            "split": ["train", "train", "holdout"],
        }
    )


def customer_features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 1],
            "snapshot_ts": pd.to_datetime(["2024-06-01", "2024-06-01", "2024-06-29"]),
            "revenue": [120.5, 0.0, 150.0],
            "visits": [12.0, 1.0, 14.0],
            "recency_days": [3.0, 80.0, 1.0],
            "tenure_days": [400.0, 90.0, 428.0],
            "observed_days": [150.0, 90.0, 178.0],
            "avg_basket": [10.04, 0.0, 10.7],
            "distinct_products": [6.0, 1.0, 7.0],
            "visits_last_28d": [2.0, 0.0, 2.0],
            "visits_prior_28d": [3.0, 0.0, 2.0],
            "is_budget": [0.0, 1.0, 0.0],
            "is_premium": [1.0, 0.0, 1.0],
            "churned": [False, True, False],
            "split": ["train", "holdout", "train"],
        }
    )


def test_agent1_output_satisfies_its_own_schema_and_agent2s_input() -> None:
    scores = agent1_output()
    validate_frame(scores, TransactionScoreSchema, dataset="agent1 scores")
    validate_frame(scores, CleanHistoryInputSchema, dataset="agent1 scores")


@pytest.mark.parametrize("column", ["transaction_id", "anomaly_score", "is_flagged"])
def test_agent2_input_breaks_when_agent1_drops_a_column_it_reads(column: str) -> None:
    with pytest.raises(DataValidationError, match=f"column '{column}': missing"):
        validate_frame(agent1_output().drop(columns=column), CleanHistoryInputSchema, dataset="agent1 scores")


def test_agent2_input_tolerates_columns_it_does_not_read_but_agent1_output_does_not() -> None:
    scores = agent1_output().assign(explanation="quantity")
    validate_frame(scores, CleanHistoryInputSchema, dataset="agent1 scores")
    with pytest.raises(DataValidationError, match="column 'explanation': not in the schema"):
        validate_frame(scores, TransactionScoreSchema, dataset="agent1 scores")


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("anomaly_score", 1.5, "less_than_or_equal_to(1.0)"),
        ("anomaly_score", -0.1, "greater_than_or_equal_to(0.0)"),
        ("transaction_id", 10, "field_uniqueness"),
        ("model_version", "", "str_length(1, None)"),
    ],
)
def test_agent1_output_rejects_bad_scores(column: str, value: object, expected: str) -> None:
    scores = agent1_output()
    scores.loc[3, column] = value
    with pytest.raises(
        DataValidationError, match=re.escape(f"column '{column}': failed {expected} at row 3")
    ):
        validate_frame(scores, TransactionScoreSchema, dataset="agent1 scores")


def test_demand_features_accept_duckdb_output_and_normalise_dates() -> None:
    validated = validate_frame(demand_features(), DemandFeatureSchema, dataset="agent2 features")
    assert validated["date"].dtype == np.dtype("datetime64[ns]")
    assert validated["lag_1"].isna().sum() == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"row": 1, "column": "date", "value": pd.Timestamp("2024-03-01")}, "multiple_fields_uniqueness"),
        (
            {"row": 0, "column": "quantity", "value": -1.0},
            "column 'quantity': failed greater_than_or_equal_to",
        ),
        (
            {"row": 0, "column": "promo_share", "value": 1.5},
            "column 'promo_share': failed less_than_or_equal_to",
        ),
        ({"row": 2, "column": "split", "value": "test"}, "column 'split': failed isin"),
        ({"row": 2, "column": "day_of_week", "value": 7.0}, "column 'day_of_week'"),
    ],
)
def test_demand_features_reject_bad_rows(change: dict[str, object], expected: str) -> None:
    frame = demand_features()
    frame.loc[change["row"], change["column"]] = change["value"]
    with pytest.raises(DataValidationError, match=expected):
        validate_frame(frame, DemandFeatureSchema, dataset="agent2 features")


def test_customer_features_accept_a_valid_frame_and_require_the_label() -> None:
    validate_frame(customer_features(), CustomerFeatureSchema, dataset="agent3 features")
    with pytest.raises(DataValidationError, match="column 'churned': missing"):
        validate_frame(
            customer_features().drop(columns="churned"), CustomerFeatureSchema, dataset="agent3 features"
        )


def test_customer_features_reject_negative_recency_and_duplicate_snapshots() -> None:
    frame = customer_features()
    frame.loc[1, "recency_days"] = -2.0
    frame.loc[2, "snapshot_ts"] = frame.loc[0, "snapshot_ts"]
    with pytest.raises(DataValidationError) as error:
        validate_frame(frame, CustomerFeatureSchema, dataset="agent3 features")
    report = str(error.value)
    assert "column 'recency_days': failed greater_than_or_equal_to(0) at row 1: value -2.0" in report
    assert "multiple_fields_uniqueness" in report


def test_customer_features_keep_each_customer_on_one_side_of_the_split() -> None:
    frame = customer_features()
    frame.loc[2, "split"] = "holdout"
    with pytest.raises(DataValidationError, match="both the train and the holdout split"):
        validate_frame(frame, CustomerFeatureSchema, dataset="agent3 features")
