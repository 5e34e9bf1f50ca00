"""The --data path's reading and writing, on small CSV files written here (tools resolve: DuckDB)."""

import ast
import csv
import re
from collections.abc import Sequence
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


def test_a_row_number_is_left_out_but_a_distinct_measurement_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "exported.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "row", "income", "spend"])  # pandas' to_csv() writes its index first, unnamed
        for index in range(40):
            writer.writerow([index, 1001 + (index * 7) % 40, 20_000 + index * index * 37, index % 7])
    data = read_dataset(path, target="spend", id_column=None, kind="regressor")
    left_out = dict(data.left_out)
    assert set(left_out) == {"column0", "row"}, left_out
    assert all(why.startswith("a row number") for why in left_out.values())
    assert [column.name for column in data.features] == ["income"]


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


def write_rows(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_parquet(query: str, path: Path) -> None:
    import duckdb

    relation = duckdb.connect().sql(query)
    assert relation is not None
    relation.write_parquet(str(path))


def read_rows(
    path: Path,
    header: list[str],
    rows: Sequence[Sequence[object]],
    *,
    target: str,
    id_column: str | None,
    kind: str,
) -> Dataset:
    """``rows`` under ``header`` as a CSV file at ``path``, read as the scaffolder reads it."""
    return read_dataset(write_rows(path, header, rows), target=target, id_column=id_column, kind=kind)


def test_a_crafted_column_name_stays_text_in_every_generated_file(tmp_path: Path) -> None:
    # A left-out (date) column whose name would close the docstring and run code on import.
    hostile = 'd""";__import__("os").system("touch pwned");"""'
    path = write_rows(
        tmp_path / 'x"""y.csv',
        ["x", hostile, "C:\\Names\\x", "label"],
        [[index % 17, "2024-01-01", "2024-01-02", "yes" if index % 3 == 0 else "no"] for index in range(60)],
    )
    data = read_dataset(path, target="label", id_column=None, kind="classifier")
    names = Names(agent="crafted", kind="classifier")
    files = {**render(names, data=template_facts(names, data)), **generated_files("crafted", data)}
    for name, content in files.items():
        if name.endswith(".py"):
            tree = ast.parse(content, name)
            calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
            assert not any(isinstance(call.func, ast.Name) and call.func.id == "__import__" for call in calls)
    docstring = ast.get_docstring(ast.parse(files["agents/crafted/columns.py"]))
    assert docstring is not None and hostile in docstring and "C:\\Names\\x" in docstring


def test_nan_counts_as_missing_and_infinity_is_refused(tmp_path: Path) -> None:
    rows = [[index, "NaN" if index % 7 == 0 else index * 0.5, index % 5] for index in range(60)]
    data = read_rows(
        tmp_path / "nan.csv", ["x", "f", "y"], rows, target="y", id_column=None, kind="regressor"
    )
    f = {column.name: column for column in data.features}["f"]
    assert f.nullable and f.minimum is not None and f.maximum is not None
    with pytest.raises(Refusal, match="null or NaN values"):
        read_rows(
            tmp_path / "nan_target.csv", ["x", "f", "y"], rows, target="f", id_column=None, kind="regressor"
        )
    infinite = [[index, "inf" if index == 3 else index * 1.5, index % 5] for index in range(60)]
    path = tmp_path / "inf.parquet"
    import duckdb

    csv_path = write_rows(tmp_path / "inf.csv", ["x", "f", "y"], infinite)
    duckdb.connect().read_csv(str(csv_path)).project("x, CAST(f AS DOUBLE) AS f, y").write_parquet(str(path))
    with pytest.raises(Refusal, match="infinite values"):
        read_dataset(path, target="y", id_column=None, kind="regressor")


def test_extreme_and_wide_numbers_keep_finite_ranges_and_usable_samples(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    write_parquet(
        "SELECT i AS x, CAST(18446744073709551615 - 3 * i AS UBIGINT) AS big,"
        " CAST(i / 7 AS DECIMAL(10, 2)) AS price, CASE WHEN i % 2 = 0 THEN 1e308 ELSE -1e308 END AS edge,"
        " i % 4 AS y FROM range(60) t(i)",
        path,
    )
    data = read_dataset(path, target="y", id_column=None, kind="regressor")
    by_name = {column.name: column for column in data.features}
    assert by_name["big"].kind == "float"  # beyond int64: the feature table could not hold it as an integer
    edge = by_name["edge"]
    assert edge.minimum is not None and edge.maximum is not None
    assert -float("inf") < edge.minimum < edge.maximum < float("inf")
    rows = ast.literal_eval(sample_module("wide", data).split("ROWS = ", 1)[1])
    assert all(isinstance(row["price"], float) for row in rows)


@pytest.mark.parametrize(("header", "target", "id_column"), [
    (["split", "b", "y"], "y", None), (["_private", "b", "y"], "y", None),
    (["model_config", "b", "y"], "y", None), (["a", "b", "model_version"], "model_version", None),
    (["a", "b", "y", "prediction"], "y", "prediction"),
])  # fmt: skip
def test_names_the_framework_uses_are_refused_before_anything_is_written(
    tmp_path: Path, header: list[str], target: str, id_column: str | None
) -> None:
    rows = [[index % 9, index * 0.5, index % 5, index % 6][: len(header)] for index in range(60)]
    with pytest.raises(Refusal, match="cannot be"):
        read_rows(tmp_path / "named.csv", header, rows, target=target, id_column=id_column, kind="regressor")


def test_a_split_by_id_needs_ids_of_both_classes(tmp_path: Path) -> None:
    rows = [[f"P{index % 20:03d}", index * 0.5, "yes" if index % 20 == 0 else "no"] for index in range(300)]
    with pytest.raises(Refusal, match="1 ids have class"):
        read_rows(
            tmp_path / "groups.csv",
            ["patient", "x", "cls"],
            rows,
            target="cls",
            id_column="patient",
            kind="classifier",
        )


def test_strings_take_the_quotes_black_gives_them() -> None:
    from tools.new_agent.declaration import literal

    assert literal('say "hi"') == "'say \"hi\"'"
    assert literal("it's") == '"it\'s"'
    assert literal("a \"b\" 'c'") == '"a \\"b\\" \'c\'"'
    assert ast.literal_eval(literal('back\\slash "q"')) == 'back\\slash "q"'


def test_only_markdown_templates_carry_text_from_the_users_file() -> None:
    from tools.new_agent.render import TEMPLATES

    # Placeholders filled with the file's own names and values: never in code, YAML or SQL.
    user_text = {"target", "positive", "source_name", "target_summary", "left_out", "id_note"}
    for template in (TEMPLATES / "data").rglob("*.tmpl"):
        if not template.name.endswith(".md.tmpl"):
            used = set(re.findall(r"@@(\w+)", template.read_text(encoding="utf-8"))) & user_text
            assert not used, f"{template} uses {sorted(used)}"


def test_a_file_with_no_readable_header_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,label\n" + "".join(f"{i},{i},x\n" for i in range(40)) + "1,2,3,4,5\n")
    for path in (empty, ragged):
        with pytest.raises(Refusal, match="no header row could be read|cannot be read"):
            read_dataset(path, target="label", id_column=None, kind="classifier")


def test_ranges_round_outward_and_wide_characters_count_twice(tmp_path: Path) -> None:
    from tools.new_agent.dataset import _widened
    from tools.new_agent.declaration import call, width

    low, high = _widened(1234567.0, 1234568.0, False)
    assert low <= 1234567.0 and high >= 1234568.0
    assert width("顧客の年齢") == 10 and width("age") == 3
    values = [f'"{"東京都" * 4}{index}"' for index in range(6)]
    assert all(width(line) <= 110 for line in call("Column", ['"顧客"', ("categories", values)], 8))


def test_one_feature_is_declared_as_black_writes_a_one_tuple(tmp_path: Path) -> None:
    rows = [[index * 0.5, index % 5] for index in range(60)]
    data = read_rows(tmp_path / "one.csv", ["x", "y"], rows, target="y", id_column=None, kind="regressor")
    assert '    features=(Column("x", minimum=0.0, maximum=36.875),),' in columns_module("one", data)


def test_a_string_or_huge_id_is_sampled_as_text_and_needs_ten_values(tmp_path: Path) -> None:
    rows = [[2**63 + index % 12, index * 0.5, index % 5] for index in range(60)]
    data = read_rows(
        tmp_path / "big.csv", ["key", "x", "y"], rows, target="y", id_column="key", kind="regressor"
    )
    assert data.id is not None and data.id.kind == "str"
    assert all(isinstance(row["key"], str) for row in data.sample)
    few = [[index % 4, index * 0.5, index % 5] for index in range(60)]
    with pytest.raises(Refusal, match="at least 10"):
        read_rows(tmp_path / "few.csv", ["key", "x", "y"], few, target="y", id_column="key", kind="regressor")
