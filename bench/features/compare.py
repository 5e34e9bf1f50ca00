"""Whether two feature frames hold the same result: same columns in order, same rows, equal values.

Floats may differ in the last bits (DuckDB and pandas sum and average in different orders), so they
are compared within a tolerance, with nulls only where the other side has nulls too. Dates are
compared as instants, whatever their unit (DuckDB hands dates over as microseconds, pandas uses
nanoseconds); everything else must be equal exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RTOL = 1e-9
ATOL = 1e-9


def _kind(column: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(column):
        return "datetime"
    if pd.api.types.is_bool_dtype(column):
        return "bool"
    if pd.api.types.is_integer_dtype(column):
        return "integer"
    if pd.api.types.is_float_dtype(column):
        return "float"
    return "text"


def _column_difference(
    name: str, expected: pd.Series, actual: pd.Series, rtol: float, atol: float
) -> str | None:
    kind, other = _kind(expected), _kind(actual)
    if kind != other:
        return f"{name}: {kind} ({expected.dtype}) vs {other} ({actual.dtype})"
    if kind == "float":
        left, right = expected.to_numpy(dtype="float64"), actual.to_numpy(dtype="float64")
        close = np.isclose(left, right, rtol=rtol, atol=atol, equal_nan=True)
    elif kind == "datetime":
        close = expected.astype("datetime64[ns]").to_numpy() == actual.astype("datetime64[ns]").to_numpy()
    else:
        close = expected.to_numpy() == actual.to_numpy()
    if bool(np.all(close)):
        return None
    first = int(np.flatnonzero(~close)[0])
    return (
        f"{name}: {int((~close).sum())} of {len(close)} rows differ, "
        f"first at row {first}: {expected.iloc[first]!r} vs {actual.iloc[first]!r}"
    )


def differences(
    expected: pd.DataFrame, actual: pd.DataFrame, *, rtol: float = RTOL, atol: float = ATOL
) -> list[str]:
    """What differs, one line per problem; an empty list means the frames agree."""
    if list(expected.columns) != list(actual.columns):
        return [f"columns differ: {list(expected.columns)} vs {list(actual.columns)}"]
    if len(expected) != len(actual):
        return [f"row counts differ: {len(expected)} vs {len(actual)}"]
    found = (
        _column_difference(str(name), expected[name], actual[name], rtol, atol) for name in expected.columns
    )
    return [difference for difference in found if difference is not None]


def checksum(frame: pd.DataFrame) -> dict[str, float]:
    """Rows and the sum of each numeric column: a short fingerprint of a result for the report."""
    sums = {str(name): float(frame[name].sum()) for name in frame.columns if _kind(frame[name]) == "float"}
    return {"rows": float(len(frame)), **sums}
