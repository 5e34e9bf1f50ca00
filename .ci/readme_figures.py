"""Every figure in the README comes from a results file a benchmark or CI wrote, and matches it.

    python3 .ci/readme_figures.py       # exit 1 naming each figure without a source or out of step

A figure is a number with a unit (minutes, seconds, MiB, %, ms, x, req/s) in README.md. Each one
must sit inside the `text` of a row of docs/figures.toml, which names the results file
(`bench/results/*.json`, written by `bench/*.py`), the row in it and the field (a number, or a
ratio cell such as `0.43x`), and how the README converts (`minutes`, `percent`) and rounds it. A
row whose text is gone from the README, a results file that says it is incomplete, a step that did
not finish, or a number that is not the file's (rounded as stated) fails. Refresh the figures by
rerunning the benchmark that writes the file, then edit the README to match.
Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TABLE = ROOT / "docs" / "figures.toml"
UNITS = r"minutes?|min|seconds?|hours?|ms|s|KiB|MiB|GiB|KB|MB|GB|%|x|req/s"
FIGURE = re.compile(rf"(?<![\w.:/-])\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?\s?(?:{UNITS})(?![\w])")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
# In decimal arithmetic: a share of 0.285 is 28.5%, which rounds to 29, where floats give 28.4999...
CONVERSIONS: dict[str, Callable[[Decimal], Decimal]] = {
    "minutes": lambda seconds: seconds / 60,
    "seconds": lambda seconds: seconds,
    "same": lambda value: value,
    "percent": lambda share: share * 100,
}


def figure_spans(text: str) -> list[tuple[int, int, str]]:
    return [(match.start(), match.end(), match.group()) for match in FIGURE.finditer(text)]


def source_value(row: Mapping[str, object]) -> Decimal:
    """The figure the row's results file holds, converted to the README's unit."""
    path = ROOT / str(row["results"])
    results = json.loads(path.read_text(encoding="utf-8"))
    if results.get("complete") is False:
        raise ValueError(f"{row['results']} says it is incomplete")
    where = row["where"]
    assert isinstance(where, dict)
    found = [
        entry for entry in results["rows"] if all(entry.get(key) == value for key, value in where.items())
    ]
    if len(found) != 1:
        raise ValueError(f"{row['results']} has {len(found)} rows where {where}")
    entry = found[0]
    if entry.get("status", "ok") != "ok":
        raise ValueError(f"{row['results']} row {where} did not finish: {entry['status']}")
    value = entry[str(row["field"])]
    if isinstance(value, str):  # a ratio written as a table cell, "0.428x"
        value = value.removesuffix("x")
    return CONVERSIONS[str(row.get("convert", "same"))](Decimal(str(value)))


def half_up(value: Decimal | float, digits: int) -> float:
    """Rounded as a reader rounds (20.5 is 21), not as Python's round() does (20)."""
    return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def check(readme: str, rows: list[Mapping[str, object]]) -> list[str]:
    problems: list[str] = []
    covered: list[tuple[int, int]] = []
    for row in rows:
        text = str(row["text"])
        start = readme.find(text)
        if start < 0:
            problems.append(f"docs/figures.toml: `{text}` is not in README.md")
            continue
        covered.append((start, start + len(text)))
        numbers = NUMBER.findall(text)
        if len(numbers) != 1:
            problems.append(f"docs/figures.toml: `{text}` must hold exactly one number (no ranges)")
            continue
        stated = float(numbers[0])
        try:
            value = half_up(source_value(row), int(str(row.get("digits", 0))))
        except (OSError, KeyError, ValueError) as error:
            problems.append(f"`{text}`: {error}")
            continue
        if stated != value:
            problems.append(f"`{text}`: {row['results']} says {value:g}")
    for start, end, figure in figure_spans(readme):
        if not any(low <= start and end <= high for low, high in covered):
            line = readme.count("\n", 0, start) + 1
            problems.append(f"README.md:{line}: `{figure}` has no row in docs/figures.toml")
    return problems


def main() -> int:
    rows = tomllib.loads(TABLE.read_text(encoding="utf-8"))["figure"]
    problems = check(README.read_text(encoding="utf-8"), rows)
    if problems:
        print("README figures without a source, or out of step with it:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in problems), file=sys.stderr)
        return 1
    print(f"{len(rows)} README figures match their results files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
