from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from libs.datagen import WorldConfig, generate_world, write_world
from libs.schemas import (
    AnomalyLabelSchema,
    CustomerSchema,
    DataValidationError,
    ProductSchema,
    StoreSchema,
    TransactionSchema,
    validate_frame,
    validate_parquet,
)

SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "stores": StoreSchema,
    "products": ProductSchema,
    "customers": CustomerSchema,
    "transactions": TransactionSchema,
    "anomaly_labels": AnomalyLabelSchema,
}


def valid_frames() -> dict[str, pd.DataFrame]:
    """The smallest hand-made world that satisfies every raw contract."""
    ts = pd.to_datetime(["2024-01-05 10:00", "2024-01-06 17:30", "2024-01-06 18:00"]).as_unit("ns")
    return {
        "stores": pd.DataFrame(
            {"store_id": [1, 2], "region": ["north", "west"], "size_sqm": [1200.0, 800.5]}
        ),
        "products": pd.DataFrame(
            {"product_id": [1, 2], "category": ["grocery", "electronics"], "base_price": [3.5, 199.0]}
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": [1, 2],
                "home_store_id": [1, 2],
                "segment": ["budget", "premium"],
                "signup_date": pd.to_datetime(["2023-05-01", "2024-01-02"]).as_unit("ns"),
                "churn_date": pd.to_datetime(["2024-03-01", None]).as_unit("ns"),
            }
        ),
        "transactions": pd.DataFrame(
            {
                "transaction_id": [1, 2, 3],
                "ts": ts,
                "customer_id": [1, 2, 2],
                "store_id": [1, 2, 2],
                "product_id": [1, 2, 1],
                "quantity": [2, 1, 3],
                "unit_price": [3.15, 199.0, 3.5],
                "promo": [True, False, False],
                "amount": [6.3, 199.0, 10.5],
            }
        ),
        "anomaly_labels": pd.DataFrame({"transaction_id": [1, 2, 3], "is_anomaly": [False, False, True]}),
    }


def rejection(name: str, frame: pd.DataFrame) -> str:
    with pytest.raises(DataValidationError) as error:
        validate_frame(frame, SCHEMAS[name], dataset=name)
    return str(error.value)


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_hand_made_frames_are_valid(name: str) -> None:
    frame = valid_frames()[name]
    pd.testing.assert_frame_equal(validate_frame(frame, SCHEMAS[name], dataset=name), frame)


@pytest.mark.parametrize("drift", [False, True])
def test_the_generator_satisfies_every_raw_contract(drift: bool) -> None:
    world = generate_world(WorldConfig(n_transactions=3_000, n_customers=100, n_days=90, drift=drift))
    for name, frame in world.tables().items():
        validate_frame(frame, SCHEMAS[name], dataset=name)


def test_the_generators_parquet_files_satisfy_every_raw_contract(tmp_path: Path) -> None:
    """What every agent's validate stage does first: the files on disk, not the frames in memory."""
    world = generate_world(WorldConfig(n_transactions=2_000, n_customers=80, n_days=60))
    for name, path in write_world(world, tmp_path).items():
        assert len(validate_parquet(path, SCHEMAS[name], dataset=name)) == len(world.tables()[name])


def _set(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[row, column] = value
        return frame

    return change


@pytest.mark.parametrize(
    ("name", "corrupt", "column", "expected"),
    [
        (
            "transactions",
            lambda f: f.astype({"quantity": "int32"}),
            "quantity",
            "dtype int32, expected int64",
        ),
        ("transactions", lambda f: f.astype({"store_id": "float64"}), "store_id", "expected int64"),
        ("transactions", lambda f: f.assign(ts=f["ts"].astype(str)), "ts", "expected datetime64[ns]"),
        (
            "transactions",
            lambda f: f.assign(ts=f["ts"].dt.tz_localize("UTC")),
            "ts",
            "expected datetime64[ns]",
        ),
        ("stores", lambda f: f.astype({"region": "category"}), "region", "dtype category"),
        ("transactions", lambda f: f.drop(columns="promo"), "promo", "missing"),
        ("customers", lambda f: f.drop(columns="churn_date"), "churn_date", "missing"),
        ("products", lambda f: f.assign(colour="red"), "colour", "not in the schema"),
        ("anomaly_labels", lambda f: f.assign(score=0.5), "score", "not in the schema"),
        ("transactions", _set("unit_price", 1, np.nan), "unit_price", "not_nullable at row 1"),
        ("customers", _set("segment", 0, None), "segment", "not_nullable at row 0"),
        ("customers", _set("signup_date", 1, pd.NaT), "signup_date", "not_nullable at row 1"),
        ("transactions", _set("quantity", 2, 0), "quantity", "greater_than_or_equal_to(1) at row 2: value 0"),
        ("transactions", _set("quantity", 0, 50_000), "quantity", "less_than_or_equal_to(10000) at row 0"),
        ("transactions", _set("unit_price", 0, -1.0), "unit_price", "greater_than(0) at row 0: value -1.0"),
        ("products", _set("base_price", 1, 250_000.0), "base_price", "less_than(100000.0) at row 1"),
        ("stores", _set("size_sqm", 0, 0.0), "size_sqm", "greater_than(0) at row 0"),
        ("stores", _set("region", 1, "mars"), "region", "isin"),
        ("customers", _set("segment", 1, "vip"), "segment", "value 'vip'"),
        ("transactions", _set("transaction_id", 2, 1), "transaction_id", "field_uniqueness"),
        ("customers", _set("customer_id", 1, 1), "customer_id", "field_uniqueness"),
        ("anomaly_labels", _set("transaction_id", 0, 3), "transaction_id", "field_uniqueness"),
        ("stores", _set("store_id", 0, 0), "store_id", "greater_than_or_equal_to(1)"),
        (
            "transactions",
            _set("ts", 1, pd.Timestamp("1970-01-01")),
            "ts",
            "greater_than_or_equal_to(2000-01-01",
        ),
        (
            "customers",
            _set("signup_date", 0, pd.Timestamp("2150-06-01")),
            "signup_date",
            "less_than(2100-01-01",
        ),
        (
            "customers",
            _set("churn_date", 1, pd.Timestamp("2222-02-22")),
            "churn_date",
            "less_than(2100-01-01",
        ),
    ],
)
def test_bad_data_is_rejected_naming_the_column(
    name: str, corrupt: Callable[[pd.DataFrame], pd.DataFrame], column: str, expected: str
) -> None:
    report = rejection(name, corrupt(valid_frames()[name]))
    assert f"dataset '{name}'" in report
    lines = [line for line in report.splitlines() if f"'{column}'" in line]
    assert lines, report
    assert any(expected in line for line in lines), report


def test_amount_must_match_quantity_times_price() -> None:
    frame = valid_frames()["transactions"]
    frame.loc[1, "amount"] = 150.0
    report = rejection("transactions", frame)
    assert "amount must equal quantity x unit_price" in report
    assert "at row 1" in report and "amount=150.0" in report


def test_churn_must_follow_signup() -> None:
    frame = valid_frames()["customers"]
    frame.loc[0, "churn_date"] = pd.Timestamp("2023-01-01")
    report = rejection("customers", frame)
    assert "churn_date must be after signup_date" in report and "at row 0" in report


def test_a_null_in_a_nullable_integer_column_is_still_a_null() -> None:
    """pandera treats pandas' nullable Int64 as int64 (Parquet stores both alike); nulls still fail."""
    frame = valid_frames()["anomaly_labels"].astype({"transaction_id": "Int64"})
    frame.loc[1, "transaction_id"] = pd.NA
    assert "column 'transaction_id': failed not_nullable at row 1" in rejection("anomaly_labels", frame)
