import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from libs.schemas import DataValidationError, validate_frame
from libs.tabular import Column, Table
from libs.tabular.frames import features_frame, schema, split, target_values

TABLE = Table(
    id=Column("shop", "int"),
    features=(
        Column("size m2", minimum=0.0, maximum=500.0),
        Column("visits", "int", nullable=True, minimum=0.0, maximum=90.0),
        Column("region", "category", categories=("north", "south")),
    ),
    target=Column("closed", "category", categories=("false", "true")),
)


def raw(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "shop": np.arange(n) % 10 + 1,
            "size m2": rng.uniform(10, 400, n),
            "visits": pd.array([None if i % 7 == 0 else i for i in range(n)], dtype="Int64"),
            "region": ["north", "south"] * (n // 2),
            "closed": [i % 3 == 0 for i in range(n)],
            "ignored": ["x"] * n,
        }
    )


def declared(frame: pd.DataFrame) -> pd.DataFrame:
    connection = duckdb.connect()
    connection.register("frame", frame)
    return connection.execute(TABLE.select_sql("frame")).df()


def test_the_feature_query_selects_exactly_the_declared_columns_and_codes_categories() -> None:
    frame = declared(raw())
    assert list(frame.columns) == ["shop", "size m2", "visits", "region", "closed"]
    assert set(frame["region"]) == {0.0, 1.0} and set(frame["closed"]) == {0.0, 1.0}
    validate_frame(frame, schema(TABLE, "shops", with_split=False), dataset="shops")


def test_values_outside_the_declaration_fail_the_schema_naming_the_column() -> None:
    bad = raw().assign(region=["east"] + ["north"] * 39)
    bad.loc[1, "size m2"] = 1e308
    with pytest.raises(DataValidationError) as error:
        validate_frame(declared(bad), schema(TABLE, "shops", with_split=False), dataset="shops")
    assert "size m2" in str(error.value) and "region" in str(error.value)


def test_split_keeps_each_id_on_one_side_and_each_class_on_both() -> None:
    frame = declared(raw())
    frame["split"] = split(TABLE, frame, holdout_fraction=0.3, seed=0, stratify=True)
    sides = frame.groupby("shop")["split"].nunique()
    assert (sides == 1).all()
    assert set(frame["split"]) == {"train", "holdout"}
    validate_frame(frame, schema(TABLE, "shops", with_split=True), dataset="shops")


def test_split_without_an_id_is_stratified_by_row() -> None:
    table = Table(features=TABLE.features, target=TABLE.target)
    frame = declared(raw()).drop(columns="shop")
    sides = split(table, frame, holdout_fraction=0.25, seed=0, stratify=True)
    for side in ("train", "holdout"):
        assert set(frame.loc[sides == side, "closed"]) == {0.0, 1.0}


def test_the_request_row_checks_ranges_and_categories_and_the_matrix_encodes_them() -> None:
    row = TABLE.row_message("ShopRow")
    ok = row.model_validate({"shop": 3, "size m2": 120.5, "region": "south"})
    matrix = TABLE.matrix([ok])
    assert (
        matrix.shape == (1, 3) and matrix[0, 0] == 120.5 and math.isnan(matrix[0, 1]) and matrix[0, 2] == 1.0
    )
    for bad, field in (
        ({"size m2": 1e308}, "size m2"),
        ({"region": "east"}, "region"),
        ({"extra": 1}, "extra"),
    ):
        with pytest.raises(ValidationError, match=field):
            row.model_validate({"shop": 3, "size m2": 1.0, "region": "north", **bad})
    answer = TABLE.answer_message("ShopAnswer", "probability", minimum=0.0, maximum=1.0)
    made = answer.model_validate({"shop": 3, "probability": 0.2, "model_name": "m", "model_version": "1"})
    assert made.model_dump()["shop"] == 3
    with pytest.raises(ValidationError, match="probability"):
        answer.model_validate({"shop": 3, "probability": 2.0, "model_name": "m", "model_version": "1"})


def test_sample_records_encode_as_the_feature_query_does() -> None:
    records = [{"size m2": 5.0, "visits": None, "region": "south", "closed": "true"}]
    assert features_frame(TABLE, records).iloc[0].tolist()[2] == 1.0
    assert target_values(TABLE, records).tolist() == [1.0]


def test_a_declaration_that_contradicts_itself_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Table(features=(Column("a"), Column("a")), target=Column("y"))
    with pytest.raises(ValueError, match="without categories"):
        Column("c", "category")
    with pytest.raises(ValueError, match="above maximum"):
        Column("x", minimum=2.0, maximum=1.0)
    with pytest.raises(ValueError, match="text"):
        Table(features=(Column("s", "str"),), target=Column("y"))
