from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from libs.schemas import DataValidationError, StoreSchema, validate_frame, validate_parquet
from libs.schemas.report import MAX_LINES


class Reading(pa.DataFrameModel):
    sensor_id: Series[int] = pa.Field(unique=True)
    value: Series[float] = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = False


def stores() -> pd.DataFrame:
    return pd.DataFrame(
        {"store_id": [1, 2, 3], "region": ["north", "east", "west"], "size_sqm": [900.0, 1.5, 40.0]}
    )


def test_data_validation_error_is_a_value_error_that_keeps_failure_cases() -> None:
    with pytest.raises(ValueError) as error:
        validate_frame(pd.DataFrame({"sensor_id": [1, 2], "value": [-1.0, 2.0]}), Reading, dataset="readings")
    assert isinstance(error.value, DataValidationError)
    assert error.value.dataset == "readings"
    cases = error.value.failure_cases
    assert list(cases[["column", "check", "failure_case", "index"]].itertuples(index=False, name=None)) == [
        ("value", "greater_than_or_equal_to(0)", -1.0, 0)
    ]


def test_report_names_dataset_schema_column_check_row_and_value() -> None:
    frame = pd.DataFrame({"sensor_id": [1, 1, 2], "value": [3.0, -2.5, 1.0]})
    with pytest.raises(DataValidationError) as error:
        validate_frame(frame, Reading, dataset="readings")
    assert str(error.value).splitlines() == [
        "dataset 'readings' does not match Reading: 3 failure(s)",
        "  column 'sensor_id': failed field_uniqueness at row 0: value 1",
        "  column 'sensor_id': failed field_uniqueness at row 1: value 1",
        "  column 'value': failed greater_than_or_equal_to(0) at row 1: value -2.5",
    ]


def test_long_reports_are_capped_with_totals_for_the_rest() -> None:
    frame = pd.DataFrame({"sensor_id": range(50), "value": [-1.0] * 45 + [1.0] * 5})
    frame.loc[49, "sensor_id"] = 0
    with pytest.raises(DataValidationError) as error:
        validate_frame(frame, Reading, dataset="readings")
    lines = str(error.value).splitlines()
    assert lines[0] == "dataset 'readings' does not match Reading: 47 failure(s)"
    assert len([line for line in lines if "failed" in line]) == MAX_LINES
    assert f"  ... and {47 - MAX_LINES} more; failures per column and check:" in lines
    assert "    column 'value', greater_than_or_equal_to(0): 45" in lines
    assert "    column 'sensor_id', field_uniqueness: 2" in lines
    assert len(error.value.failure_cases) == 47


def test_validated_frame_is_returned_unchanged() -> None:
    frame = stores()
    assert validate_frame(frame, StoreSchema, dataset="stores") is not None
    pd.testing.assert_frame_equal(validate_frame(frame, StoreSchema, dataset="stores"), frame)


def test_schema_objects_work_as_well_as_models() -> None:
    schema = pa.DataFrameSchema({"x": pa.Column(int, pa.Check.gt(0))}, name="positive", strict=True)
    with pytest.raises(DataValidationError, match="does not match positive"):
        validate_frame(pd.DataFrame({"x": [0]}), schema, dataset="numbers")


def test_non_frames_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected a pandas DataFrame, got list"):
        validate_frame([1, 2], StoreSchema, dataset="stores")


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "stores.parquet"
    stores().to_parquet(path, index=False)
    return path


def test_valid_parquet_reads_back(parquet: Path) -> None:
    pd.testing.assert_frame_equal(validate_parquet(parquet, StoreSchema, dataset="stores"), stores())


def test_parquet_content_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "stores.parquet"
    stores().astype({"store_id": "int32"}).to_parquet(path, index=False)
    with pytest.raises(DataValidationError, match="column 'store_id': dtype int32, expected int64"):
        validate_parquet(path, StoreSchema, dataset="stores")


def _rejected(path: Path) -> str:
    with pytest.raises(DataValidationError) as error:
        validate_parquet(path, StoreSchema, dataset="stores")
    assert (
        error.value.__context__ is None or error.value.__suppress_context__
    )  # no pyarrow traceback attached
    return str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    assert (
        _rejected(tmp_path / "absent.parquet")
        == f"dataset 'stores': {tmp_path / 'absent.parquet'} does not exist"
    )


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert _rejected(tmp_path) == f"dataset 'stores': {tmp_path} is not a file"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "stores.parquet"
    path.touch()
    assert _rejected(path) == f"dataset 'stores': {path} is an empty file (0 bytes)"


def test_zero_row_file(tmp_path: Path) -> None:
    path = tmp_path / "stores.parquet"
    stores().head(0).to_parquet(path, index=False)
    assert _rejected(path) == f"dataset 'stores' is empty: {path} has 0 rows"


def test_truncated_parquet_file(parquet: Path) -> None:
    data = parquet.read_bytes()
    parquet.write_bytes(data[: len(data) // 2])
    report = _rejected(parquet)
    assert report.startswith(f"dataset 'stores': {parquet} is not a readable Parquet file: truncated")
    assert len(report.splitlines()) == 1


def test_parquet_with_a_corrupt_footer(parquet: Path) -> None:
    data = bytearray(parquet.read_bytes())
    data[-40:-8] = b"\xff" * 32  # the footer's metadata, leaving the magic bytes intact
    parquet.write_bytes(bytes(data))
    assert "is not a readable Parquet file: corrupt metadata or data" in _rejected(parquet)


def test_file_in_another_format(tmp_path: Path) -> None:
    path = tmp_path / "stores.parquet"
    stores().to_csv(path, index=False)
    assert _rejected(path).endswith(
        "is not a readable Parquet file: not Parquet at all: it holds text (e.g. CSV or JSON)"
    )


@pytest.mark.parametrize(
    ("encoding", "holds"),
    [
        ("utf-16", "text in UTF-16 (it starts with a UTF-16 byte-order mark)"),
        ("utf-8-sig", "UTF-8 text with a byte-order mark"),
        ("latin-1", "text that is not UTF-8 (e.g. latin-1)"),
    ],
)
def test_text_in_another_encoding_is_named(tmp_path: Path, encoding: str, holds: str) -> None:
    path = tmp_path / "stores.parquet"
    path.write_bytes("store_id,region\n1,Düsseldorf-Nord\n".encode(encoding))
    assert _rejected(path).endswith(f"not Parquet at all: it holds {holds}")
