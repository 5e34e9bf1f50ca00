"""Collects the latest result of every benchmark into bench/results/README.md, the page the
project README links to. Standard library only."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import results_dir  # noqa: E402

# The order a reader wants: what ships, how it serves, how data is built, what CI and DVC cost.
ORDER = ["artifacts", "image_ways", "serving", "features", "pipelines", "ci_time", "affected_vs_full"]
HEADER = """# Benchmark results

The latest run of each benchmark in `bench/`, newest numbers only. `bench/run` reruns all but
the affected-only one (`python3 bench/affected_vs_full.py`, about half an hour) and CI time
(`bench/run --ci-time`). Every table names the machine, the versions, the date and the load it
came from; figures are medians of the runs shown, with ranges where a ratio moves between runs.
"""


def main() -> int:
    folder = results_dir()
    found = {path.stem: path for path in folder.glob("*.md") if path.name != "README.md"}
    names = [name for name in ORDER if name in found] + sorted(set(found) - set(ORDER))
    sections = [found[name].read_text(encoding="utf-8").strip() for name in names]
    # Each result opens with a level-1 title; on the summary page it becomes a section.
    page = HEADER + "".join(f"\n#{section}\n" for section in sections)
    (folder / "README.md").write_text(page, encoding="utf-8")
    print(f"wrote {folder / 'README.md'} ({', '.join(names)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
