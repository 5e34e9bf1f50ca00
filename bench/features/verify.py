"""Child process: checks that two contenders' feature files hold the same result; exit 1 if not.

``python -m bench.features.verify EXPECTED ACTUAL --report FILE``. Run apart from the orchestrator so
the orchestrator never imports pandas (see ``bench.features.measure``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bench.features.compare import checksum, differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.features.verify", description=__doc__)
    parser.add_argument("expected", type=Path)
    parser.add_argument("actual", type=Path)
    parser.add_argument("--report", type=Path, required=True, help="JSON file for the expected checksum")
    args = parser.parse_args(argv)
    expected, actual = pd.read_parquet(args.expected), pd.read_parquet(args.actual)
    found = differences(expected, actual)
    for line in found:
        print(f"MISMATCH {args.expected.name} vs {args.actual.name}: {line}", file=sys.stderr)
    args.report.write_text(json.dumps({"agree": not found, "checksum": checksum(expected)}) + "\n")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
