"""Lists the tests a `./pants test` run skipped, and why, from the JUnit XML reports it wrote.

Pants reports a target whose tests all skipped as green, so on a machine without Docker, Chromium or
PostgreSQL a run looks complete when it is not. The `./pants` script runs this after every `test`
goal (`[test].report = true` in pants.toml) and prints one line per skipped test at the end:

    python3 tools/testreports/skipped.py dist/test/reports

Standard library only, and Python 3.9 compatible: the `./pants` script runs it with Pants' own
interpreter.
"""

from __future__ import annotations

import argparse
import ast
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Skip:
    test: str
    reason: str


def skips_in(report: Path) -> Iterator[Skip]:
    """The skipped test cases of one pytest JUnit report (a file that does not parse is skipped too)."""
    try:
        # Pants' own pytest runs wrote these reports in this checkout: not untrusted input.
        root = ElementTree.parse(report).getroot()  # noqa: S314
    except ElementTree.ParseError as error:
        yield Skip(str(report), f"unreadable test report ({error})")
        return
    for case in root.iter("testcase"):
        skipped = case.find("skipped")
        if skipped is None:
            continue
        # pytest's classname is the module (and class) path; a module skipped whole has none.
        classname, name = case.get("classname", ""), case.get("name", "")
        test = f"{classname}::{name}" if classname else name
        yield Skip(test, reason_of(skipped))


def reason_of(skipped: ElementTree.Element) -> str:
    message, text = skipped.get("message", ""), (skipped.text or "").strip()
    if message == "collection skipped":
        # A module skipped at import: pytest writes the repr of (path, line, "Skipped: <reason>").
        try:
            _path, _line, reason = ast.literal_eval(text)
            return str(reason).removeprefix("Skipped: ")
        except (ValueError, SyntaxError, TypeError):
            return text or message
    return message or text or "no reason given"


def skips_under(report_dir: Path) -> list[Skip]:
    return [skip for report in sorted(report_dir.rglob("*.xml")) for skip in skips_in(report)]


def summary(skips: list[Skip]) -> str:
    """The lines printed at the end of a test run; empty when nothing was skipped."""
    if not skips:
        return ""
    lines = [f"{len(skips)} test{'s' if len(skips) != 1 else ''} skipped (did not run):"]
    lines += [f"skipped: {skip.test}: {skip.reason}" for skip in skips]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_dir", type=Path, help="where Pants wrote this run's JUnit XML reports")
    args = parser.parse_args(argv)
    if args.report_dir.is_dir():
        sys.stderr.write(summary(skips_under(args.report_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
