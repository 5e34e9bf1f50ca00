"""The catalogue of bad raw files, each run through the validate stage the way DVC runs it.

Every case is one named bad file among otherwise valid ones. The stage must exit 1 with a short
report naming the dataset and the column and check that failed (or why the file cannot be read,
in one line, no stack trace), write nothing, and leave every file as it was: the bad file stays for
a person to look at, and the last good ``validation.json`` stays, so DVC runs no later stage.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from libs.datagen import WorldConfig, generate_world, write_world
from libs.pipeline import run_stages
from libs.pipeline.validation import validate_inputs
from libs.schemas import (
    AnomalyLabelSchema,
    CustomerSchema,
    ProductSchema,
    StoreSchema,
    TransactionSchema,
)

RAW_SCHEMAS = {
    "stores": StoreSchema,
    "products": ProductSchema,
    "customers": CustomerSchema,
    "transactions": TransactionSchema,
    "anomaly_labels": AnomalyLabelSchema,
}
MAX_REPORT_LINES = 30
Corruption = Callable[[Path], None]


@dataclass(frozen=True)
class BadFile:
    name: str
    dataset: str
    corrupt: Corruption  # rewrites the dataset's valid file in place
    expected: tuple[str, ...]  # fragments the report must hold


def frame_edit(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Corruption:
    """A Parquet file a broken producer could write: the valid table with one change."""

    def corrupt(path: Path) -> None:
        change(pd.read_parquet(path)).to_parquet(path, index=False)

    return corrupt


def at_rows(column: str, rows: list[int], value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        if pd.isna(value) and pd.api.types.is_integer_dtype(frame[column]):
            frame[column] = frame[column].astype("float64")
        frame.loc[rows, column] = value
        return frame

    return change


def as_text(
    encoding: str, change: Callable[[pd.DataFrame], pd.DataFrame] = lambda frame: frame
) -> Corruption:
    """The table exported as CSV in ``encoding`` under the Parquet file's name."""

    def corrupt(path: Path) -> None:
        path.write_bytes(change(pd.read_parquet(path)).to_csv(index=False).encode(encoding))

    return corrupt


def cut(keep: Callable[[int], int]) -> Corruption:
    def corrupt(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: keep(len(data))])

    return corrupt


def latin1_strings(column: str) -> Corruption:
    """Parquet whose text column holds latin-1 bytes, as a writer that skipped encoding to UTF-8 does."""

    def corrupt(path: Path) -> None:
        table = pq.read_table(path)
        values = [f"{value}-é".encode("latin-1") for value in table.column(column).to_pylist()]
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, pa.array(values, pa.binary()))
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        path.write_bytes(buffer.getvalue())

    return corrupt


def year_2600(path: Path) -> None:
    """A timestamp beyond pandas' nanosecond range, stored in microseconds as Parquet allows."""
    frame = pd.read_parquet(path)
    frame["ts"] = frame["ts"].astype("datetime64[us]")
    frame.loc[3, "ts"] = np.datetime64("2600-01-01", "us")
    frame.to_parquet(path, index=False)


def empty(path: Path) -> None:
    path.write_bytes(b"")


CATALOGUE = [
    # wrong dtypes
    BadFile(
        "int_as_float",
        "transactions",
        frame_edit(lambda f: f.astype({"quantity": "float64"})),
        ("column 'quantity': dtype float64, expected int64",),
    ),
    BadFile(
        "id_as_text",
        "customers",
        frame_edit(lambda f: f.astype({"customer_id": str})),
        ("column 'customer_id': dtype", "expected int64"),
    ),
    BadFile(
        "bool_as_text",
        "transactions",
        frame_edit(lambda f: f.assign(promo=f["promo"].map({True: "yes", False: "no"}))),
        ("column 'promo': dtype", "expected bool"),
    ),
    BadFile(
        "bool_as_int",
        "anomaly_labels",
        frame_edit(lambda f: f.astype({"is_anomaly": "int64"})),
        ("column 'is_anomaly': dtype int64, expected bool",),
    ),
    # missing and extra columns
    BadFile(
        "missing_column",
        "transactions",
        frame_edit(lambda f: f.drop(columns="amount")),
        ("column 'amount': missing",),
    ),
    BadFile(
        "extra_column",
        "stores",
        frame_edit(lambda f: f.assign(manager="Jo")),
        ("column 'manager': not in the schema",),
    ),
    # nulls
    BadFile(
        "null_numbers",
        "transactions",
        frame_edit(at_rows("unit_price", [0, 1, 2], np.nan)),
        ("column 'unit_price': failed not_nullable at row 0: value null", "at row 2"),
    ),
    BadFile(
        "null_text",
        "customers",
        frame_edit(at_rows("segment", [4], None)),
        ("column 'segment': failed not_nullable at row 4: value null",),
    ),
    # duplicates
    BadFile(
        "duplicate_keys",
        "products",
        frame_edit(at_rows("product_id", [1], 1)),
        ("column 'product_id': failed field_uniqueness at row 0: value 1", "at row 1"),
    ),
    # out-of-range values
    BadFile(
        "zero_quantity",
        "transactions",
        frame_edit(at_rows("quantity", [5], 0)),
        ("column 'quantity': failed greater_than_or_equal_to(1) at row 5: value 0",),
    ),
    BadFile(
        "unknown_region",
        "stores",
        frame_edit(at_rows("region", [0], "mars")),
        ("column 'region': failed isin", "value 'mars'"),
    ),
    BadFile(
        "churn_before_signup",
        "customers",
        frame_edit(lambda f: f.assign(churn_date=f["signup_date"] - pd.Timedelta(days=1))),
        ("churn_date must be after signup_date", "at row 0"),
    ),
    # empty files
    BadFile("zero_bytes", "products", empty, ("is an empty file (0 bytes)",)),
    BadFile("header_only", "transactions", frame_edit(lambda f: f.head(0)), ("is empty:", "has 0 rows")),
    # wrong encodings
    BadFile(
        "utf16_csv",
        "stores",
        as_text("utf-16"),
        ("is not a readable Parquet file: not Parquet at all: it holds text in UTF-16",),
    ),
    BadFile(
        "latin1_csv",
        "products",
        as_text("latin-1", lambda f: f.assign(category="électronique")),
        ("is not a readable Parquet file: not Parquet at all: it holds text that is not UTF-8",),
    ),
    BadFile(
        "latin1_in_parquet",
        "products",
        latin1_strings("category"),
        ("is not a readable Parquet file: corrupt metadata or data, or text that is not valid UTF-8",),
    ),
    # truncated Parquet
    BadFile(
        "truncated_half",
        "transactions",
        cut(lambda n: n // 2),
        ("is not a readable Parquet file: truncated",),
    ),
    BadFile(
        "truncated_footer",
        "customers",
        cut(lambda n: n - 100),
        ("is not a readable Parquet file: truncated",),
    ),
    # extreme values
    BadFile(
        "infinite_price",
        "transactions",
        frame_edit(at_rows("unit_price", [2], np.inf)),
        ("column 'unit_price': failed less_than(100000.0) at row 2: value inf",),
    ),
    BadFile(
        "amount_1e308",
        "transactions",
        frame_edit(at_rows("amount", [2], 1e308)),
        ("check 'amount must equal quantity x unit_price within 0.01' failed at row 2", "amount=1e+308"),
    ),
    BadFile(
        "negative_infinite_amount",
        "transactions",
        frame_edit(at_rows("amount", [2], -np.inf)),
        ("column 'amount': failed greater_than_or_equal_to(0) at row 2: value -inf",),
    ),
    BadFile(
        "huge_integer",
        "transactions",
        frame_edit(at_rows("quantity", [2], 2**62)),
        ("column 'quantity': failed less_than_or_equal_to(10000) at row 2: value 4611686018427387904",),
    ),
    BadFile("year_2600", "transactions", year_2600, ("column 'ts': failed less_than(2100-01-01", "at row 3")),
    # keys naming rows another table lacks (libs.schemas.references)
    BadFile(
        "dangling_store",
        "transactions",
        frame_edit(at_rows("store_id", [0, 1], 777)),
        ("transactions.store_id must name a row of stores (stores.store_id)", "at row 1: value 777"),
    ),
    BadFile(
        "dangling_customer",
        "transactions",
        frame_edit(at_rows("customer_id", [3], 10_000_000)),
        ("transactions.customer_id must name a row of customers", "at row 3: value 10000000"),
    ),
    BadFile(
        "dangling_label",
        "anomaly_labels",
        frame_edit(at_rows("transaction_id", [0], 999_999_999)),
        ("anomaly_labels.transaction_id must name a row of transactions", "value 999999999"),
    ),
    BadFile(
        "epoch_zero_date",
        "customers",
        frame_edit(at_rows("signup_date", [1], pd.Timestamp("1970-01-01"))),
        ("column 'signup_date': failed greater_than_or_equal_to(2000-01-01", "at row 1"),
    ),
]


@pytest.fixture(scope="module")
def valid_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    world = generate_world(WorldConfig(n_transactions=1_500, n_customers=60, n_days=60))
    return write_world(world, tmp_path_factory.mktemp("valid"))["stores"].parent


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def validate(tmp_path: Path, raw: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The validate stage through the same entry point every agent's pipeline program calls."""
    params = tmp_path / "params.yaml"
    params.write_text("validate: {}\n")
    argv = ["validate", "--params", str(params), "--raw-dir", str(raw), "--work-dir", str(tmp_path / "work")]
    stage = functools.partial(validate_inputs, schemas=RAW_SCHEMAS)
    code = run_stages("agentX", {"validate": stage}, argv)
    return code, capsys.readouterr().err


@pytest.fixture
def raw(tmp_path: Path, valid_raw: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A copy of the valid files that passed validation once, leaving a good validation.json."""
    copy = tmp_path / "raw"
    copy.mkdir()
    for path in valid_raw.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    assert validate(tmp_path, copy, capsys) == (0, "")
    return copy


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda case: case.name)
def test_bad_file_is_rejected_with_a_readable_report_and_nothing_lost(
    case: BadFile, raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work_before = snapshot(tmp_path / "work")
    target = raw / f"{case.dataset}.parquet"
    case.corrupt(target)
    raw_before = snapshot(raw)

    code, report = validate(tmp_path, raw, capsys)

    assert code == 1, report
    assert report.startswith("agentX validate: input rejected, nothing written.\n"), report
    assert f"dataset '{case.dataset}'" in report, report
    for fragment in case.expected:
        assert fragment in report, f"{fragment!r} not in:\n{report}"
    assert "Traceback" not in report, report
    assert len(report.splitlines()) <= MAX_REPORT_LINES, report
    other = [name for name in RAW_SCHEMAS if name != case.dataset]
    assert not [name for name in other if f"dataset '{name}'" in report], report
    assert snapshot(tmp_path / "work") == work_before, "the stage wrote or removed an output"
    assert snapshot(raw) == raw_before, "the stage changed an input"


def test_the_catalogue_covers_every_kind_of_bad_file() -> None:
    names = {case.name for case in CATALOGUE}
    kinds = {
        "wrong dtype": {"int_as_float", "id_as_text", "bool_as_text"},
        "missing and extra columns": {"missing_column", "extra_column"},
        "nulls": {"null_numbers", "null_text"},
        "duplicates": {"duplicate_keys"},
        "out of range": {"zero_quantity", "unknown_region"},
        "empty file": {"zero_bytes", "header_only"},
        "wrong encoding": {"utf16_csv", "latin1_csv", "latin1_in_parquet"},
        "truncated Parquet": {"truncated_half", "truncated_footer"},
        "extreme values": {"infinite_price", "amount_1e308", "huge_integer", "year_2600"},
        "dangling keys": {"dangling_store", "dangling_customer", "dangling_label"},
    }
    assert {kind: cases - names for kind, cases in kinds.items() if cases - names} == {}
    assert len(names) == len(CATALOGUE), "case names must be unique"


def test_every_bad_dataset_is_reported_in_one_run(
    raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lazy across datasets too: one run lists every broken file, not just the first."""
    empty(raw / "stores.parquet")
    frame_edit(lambda f: f.drop(columns="amount"))(raw / "transactions.parquet")
    cut(lambda n: n // 2)(raw / "customers.parquet")
    code, report = validate(tmp_path, raw, capsys)
    assert code == 1
    for fragment in ("dataset 'stores'", "column 'amount': missing", "dataset 'customers'", "truncated"):
        assert fragment in report, report
