"""Turns pandera's failure cases into a short report a person can act on.

pandera lists a failing row of a whole-frame check once per column; the report folds those into one
line per row. Values are shown as they are in the data when it is at hand (pandera's table may have
upcast them, e.g. an id 1 to 1.0). Long reports are cut at ``max_lines`` failures, followed by totals
per column and check so nothing is silently dropped.
"""

from __future__ import annotations

import pandas as pd

MAX_LINES = 20
MAX_VALUE_CHARS = 60


def _show(value: object) -> str:
    try:
        missing = bool(pd.isna(value))
    except (TypeError, ValueError):
        missing = False
    text = "null" if missing else repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _original(data: pd.DataFrame | None, column: object, index: object, reported: object) -> object:
    """The cell as it is in the data, when the data is given and the cell can be found unambiguously."""
    if data is None or column not in data.columns or not data.index.is_unique:
        return reported
    try:
        return data.at[index, column]
    except (KeyError, TypeError, ValueError):
        return reported


def _describe(column: object, check: str, value: object, index: object) -> str:
    if check == "column_in_dataframe":
        return f"column '{value}': missing"
    if check == "column_in_schema":
        return f"column '{value}': not in the schema"
    if check.startswith("dtype("):
        expected = check[len("dtype(") : -1].strip("'\"")
        return f"column '{column}': dtype {value}, expected {expected}"
    where = "" if index is None or _show(index) == "null" else f" at row {index}"
    return f"column '{column}': failed {check}{where}: value {_show(value)}"


def _frame_check_lines(wide: pd.DataFrame, limit: int, data: pd.DataFrame | None) -> list[str]:
    """One line per failing row of a whole-frame check, listing that row's values."""
    lines = []
    for check, index in wide[["check", "index"]].drop_duplicates().head(limit).itertuples(index=False):
        row = wide[(wide["check"] == check) & (wide["index"] == index)]
        values = ", ".join(
            f"{column}={_show(_original(data, column, index, value))}"
            for column, value in zip(row["column"], row["failure_case"], strict=True)
        )
        lines.append(f"check '{check}' failed at row {index}: {values}")
    return lines


def format_report(
    dataset: str,
    schema_name: str,
    failure_cases: pd.DataFrame,
    *,
    data: pd.DataFrame | None = None,
    max_lines: int = MAX_LINES,
) -> str:
    cases = failure_cases
    wide = (cases["schema_context"] == "DataFrameSchema") & cases["index"].notna()
    # Schema-level problems (missing or extra columns, dtypes) first: they explain most row failures.
    single = cases[~wide].sort_values("index", key=lambda index: index.notna(), kind="stable")
    frame_rows = cases[wide]
    total = len(single) + len(frame_rows[["check", "index"]].drop_duplicates())

    lines = [f"dataset '{dataset}' does not match {schema_name}: {total} failure(s)"]
    for row in single.head(max_lines).itertuples(index=False):
        value = (
            row.failure_case
            if pd.isna(row.index)
            else _original(data, row.column, row.index, row.failure_case)
        )
        lines.append("  " + _describe(row.column, str(row.check), value, row.index))
    room = max_lines - min(len(single), max_lines)
    lines += ["  " + line for line in _frame_check_lines(frame_rows, room, data)]
    if total > max_lines:
        lines.append(f"  ... and {total - max_lines} more; failures per column and check:")
        for (column, check), count in (
            single.groupby(["column", "check"], sort=False, dropna=False).size().items()
        ):
            lines.append(f"    column '{column}', {check}: {count}")
        for check, count in frame_rows.groupby("check", sort=False)["index"].nunique().items():
            lines.append(f"    check '{check}': {count} row(s)")
    return "\n".join(lines)
