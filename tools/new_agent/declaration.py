"""Writes an agent's column declaration and its sample rows as Python source, formatter-stable.

The generated files must pass the repository's formatters unchanged (black, isort, ruff at 110
columns), so a call that does not fit on one line is written exploded, one argument per line with a
trailing comma, which is how black writes it and keeps it, and strings take the quotes black would
give them. Names and values come from the user's file, so they are never written into source but as
escaped string literals or escaped docstring text, and the files tell ruff that long lines and
look-alike characters are the data's own.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tools.new_agent.dataset import MARGIN, MAX_CATEGORIES, Column, Dataset

LINE = 110
# Column names and values are the data's: a long one cannot be wrapped, and a look-alike character
# (an en dash, a micro sign) is what the user's file says.
DATA_NOQA = "# ruff: noqa: E501, RUF001, RUF002, RUF003"


def literal(value: Any) -> str:
    """A Python literal black leaves alone: double-quoted strings, plain numbers, None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):  # DuckDB's DECIMAL: a float column
        value = float(value)
    if isinstance(value, float):
        if math.isinf(value):
            raise ValueError("infinite values cannot be sampled")
        return repr(value)
    if hasattr(value, "isoformat"):
        return json.dumps(value.isoformat())
    return _quoted_as_black_writes(str(value))


def _quoted_as_black_writes(text: str) -> str:
    """Double quotes, unless the text holds more double quotes than single ones (black's rule:
    the quotes that need fewer escapes, double on a tie)."""
    body = docstring_text(text)  # backslashes, double quotes and control characters escaped
    if text.count('"') > text.count("'"):
        return "'" + body.replace('\\"', '"').replace("'", "\\'") + "'"
    return f'"{body}"'


def docstring_text(text: str) -> str:
    """``text`` safe inside a triple-quoted docstring: backslashes, quotes and line breaks escaped,
    so a name from the user's file can neither end the docstring nor start an escape sequence."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def width(text: str) -> int:
    """Columns as black counts them: East Asian wide characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


Argument = str | tuple[str, list[str]]  # `x` or `key=(v1, v2, ...)`


def _flat(argument: Argument) -> str:
    if isinstance(argument, str):
        return argument
    key, values = argument
    return f"{key}=({', '.join(values)}{',' if len(values) == 1 else ''})"


def call(function: str, arguments: Sequence[Argument], indent: int) -> list[str]:
    """`function(a, b),` on one line if it fits at `indent`, else exploded (a long tuple too)."""
    pad = " " * indent
    one_line = f"{pad}{function}({', '.join(_flat(argument) for argument in arguments)}),"
    if width(one_line) <= LINE:
        return [one_line]
    lines = [f"{pad}{function}("]
    for argument in arguments:
        line = f"{pad}    {_flat(argument)},"
        if width(line) > LINE and not isinstance(argument, str):
            key, values = argument
            lines.append(f"{pad}    {key}=(")
            lines.extend(f"{pad}        {value}," for value in values)
            lines.append(f"{pad}    ),")
        else:
            lines.append(line)
    lines.append(f"{pad}),")
    return lines


def column_call(column: Column, indent: int) -> list[str]:
    arguments: list[Argument] = [literal(column.name)]
    if column.kind != "float":
        arguments.append(literal(column.kind))
    if column.nullable:
        arguments.append("nullable=True")
    if column.minimum is not None:
        arguments.append(f"minimum={literal(column.minimum)}")
    if column.maximum is not None:
        arguments.append(f"maximum={literal(column.maximum)}")
    if column.categories:
        arguments.append(("categories", [literal(value) for value in column.categories]))
    return call("Column", arguments, indent)


def columns_module(agent: str, data: Dataset) -> str:
    """`agents/<agent>/columns.py`: the one place the agent's columns are declared."""
    left_out = (
        "".join(f"\n- `{docstring_text(name)}`: {docstring_text(why)}" for name, why in data.left_out)
        or " none."
    )
    source = docstring_text(data.source.name)
    lines = [
        DATA_NOQA,
        f'"""The columns of {agent}\'s data, declared once: the schema, request and answer types, feature',
        "query, model matrix and test rows all derive from this table (libs/tabular). Add, remove or",
        "narrow a column here and nothing else needs an edit.",
        "",
        f"Inferred from {source} ({data.rows} rows) by `./pants run :new-agent`: ranges are the",
        f"observed ones widened by {MARGIN:.0%} of their span on each side, never below 0 for a column",
        "with no negative value (a served value outside them is refused); strings with at most",
        f"{MAX_CATEGORIES} distinct values are categories. Left out:{left_out}",
        '"""',
        "",
        "from libs.tabular import Column, Table",
        "",
        "TABLE = Table(",
    ]
    if data.id is not None:
        lines.extend(line.replace("Column(", "id=Column(", 1) for line in column_call(data.id, 4))
    only = column_call(data.features[0], 0) if len(data.features) == 1 else []
    if len(only) == 1 and width(f"    features=({only[0]}),") <= LINE:
        lines.append(f"    features=({only[0]}),")  # a one-tuple's comma is not black's magic comma
    else:
        lines.append("    features=(")
        for column in data.features:
            lines.extend(column_call(column, 8))
        lines.append("    ),")
    lines.extend(line.replace("Column(", "target=Column(", 1) for line in column_call(data.target, 4))
    lines.append(")")
    return "\n".join(lines) + "\n"


def sample_module(agent: str, data: Dataset) -> str:
    """`agents/<agent>/sample_rows.py`: rows sampled from the data for the tiny champion and the tests."""
    source = docstring_text(data.source.name)
    lines = [
        DATA_NOQA,
        f'"""{len(data.sample)} rows sampled from {source} (a classifier\'s with both classes',
        f"evenly): the tiny champion {agent}'s tests train on, and the rows they send its service. Raw",
        "values, as a caller sends them; `libs.tabular.frames.features_frame` encodes them as the model",
        'sees them."""',
        "",
        "ROWS = [",
    ]
    for row in data.sample:
        lines.append("    {")
        lines.extend(f"        {literal(key)}: {literal(value)}," for key, value in row.items())
        lines.append("    },")
    lines.append("]")
    return "\n".join(lines) + "\n"
