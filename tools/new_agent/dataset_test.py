"""The --data path's reading and writing, on small CSV files written here (tools resolve: DuckDB)."""

import ast
import csv
from pathlib import Path

import pytest

from tools.new_agent.dataset import Dataset, read_dataset
from tools.new_agent.declaration import columns_module, sample_module
from tools.new_agent.from_data import generated_files, template_facts
from tools.new_agent.names import Refusal
from tools.new_agent.render import Names, render


def write_csv(path: Path, rows: int = 60) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["shop", "size", "visits", "region", "note", "opened", "closed"])
        for index in range(rows):
            visits = "" if index % 9 == 0 else str(index % 30)
            region = ["north", "south", "east"][index % 3]
            closed = "yes" if index % 4 == 0 else "no"
            writer.writerow([index % 12, 10.0 + index, visits, region, f"n{index}", "2024-01-01", closed])
    return path


def classifier(path: Path) -> Dataset:
    return read_dataset(path, target="closed", id_column="shop", kind="classifier")


def test_columns_are_inferred_with_widened_ranges_categories_and_what_is_left_out(tmp_path: Path) -> None:
    data = classifier(write_csv(tmp_path / "shops.csv"))
    by_name = {column.name: column for column in data.features}
    assert list(by_name) == ["size", "visits", "region"]
    assert (by_name["size"].minimum, by_name["size"].maximum) == (0.0, 83.75)  # 10..69, +-25% of 59, >= 0
    assert by_name["visits"].nullable and by_name["visits"].kind == "int"
    assert by_name["region"].categories == ("east", "north", "south")
    assert dict(data.left_out).keys() == {"note", "opened"}
    # DuckDB reads yes/no as booleans; the classes are their text, in order, the second one positive.
    assert data.target.categories == ("false", "true")
    assert dict(data.target_counts) == {"false": 45, "true": 15}
    assert data.id is not None and data.id.name == "shop"
    assert {row["closed"] for row in data.sample} == {"false", "true"}


def test_the_generated_modules_are_valid_python_and_render_with_every_placeholder(tmp_path: Path) -> None:
    data = classifier(write_csv(tmp_path / "shops.csv"))
    names = Names(agent="shop_closures", kind="classifier")
    files = {**render(names, data=template_facts(names, data)), **generated_files("shop_closures", data)}
    for path, content in files.items():
        assert "@@" not in content, path
        if path.endswith(".py"):
            compile(content, path, "exec")
            assert max(len(line) for line in content.splitlines()) <= 110, path
    assert 'id=Column("shop", "int"),' in columns_module("shop_closures", data)
    rows = ast.literal_eval(sample_module("shop_closures", data).split("ROWS = ", 1)[1])
    assert len(rows) == len(data.sample) and set(rows[0]) == {"shop", "size", "visits", "region", "closed"}
    assert "data/shop_closures/input/rows.parquet" in files["pipelines/shop_closures/dvc.yaml"]


@pytest.mark.parametrize(
    ("target", "kind", "message"),
    [
        ("missing", "classifier", "not a column"),
        ("region", "classifier", "3 distinct values"),
        ("region", "regressor", "not numeric"),
    ],
)
def test_a_target_that_does_not_fit_the_kind_is_refused(
    tmp_path: Path, target: str, kind: str, message: str
) -> None:
    with pytest.raises(Refusal, match=message):
        read_dataset(write_csv(tmp_path / "shops.csv"), target=target, id_column=None, kind=kind)


def test_too_few_rows_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Refusal, match="at least 30"):
        classifier(write_csv(tmp_path / "small.csv", rows=10))
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(Refusal, match="cannot be read"):
        classifier(broken)
    spreadsheet = tmp_path / "shops.xlsx"
    spreadsheet.write_bytes(b"PK")
    with pytest.raises(Refusal, match="expected a .csv or .parquet"):
        classifier(spreadsheet)
