"""One result format for every benchmark: a table with the machine, versions and date it came from.

Each benchmark measures its contenders side by side in one run and hands its rows here; this
module prints the table and writes it as ``bench/results/<name>.md`` and ``<name>.json``.
Standard library only, so benchmarks in any resolve (or none) can use it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

RESULTS_VARIABLE = "MLOPS_BENCH_RESULTS"


def project_root(start: Path | None = None) -> Path:
    """The nearest folder holding pants.toml, from the working directory (Pants runs in the root)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pants.toml").is_file():
            return folder
    raise FileNotFoundError(f"no pants.toml above {here}: run benchmarks from the repository")


def results_dir() -> Path:
    configured = os.environ.get(RESULTS_VARIABLE)
    return Path(configured) if configured else project_root() / "bench" / "results"


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return 0.0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def utc_stamp() -> str:
    """Now, as every results table writes its date."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "cpu": cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "date": utc_stamp(),
    }


def versions(distributions: Iterable[str]) -> dict[str, str]:
    """Installed versions of the named distributions; the ones not installed here are left out."""
    found = {}
    for name in distributions:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else float("inf")


def markdown_table(columns: Sequence[str], rows: Sequence[dict[str, object]]) -> list[str]:
    return [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
        *("| " + " | ".join(str(row.get(column, "")) for column in columns) + " |" for row in rows),
    ]


def write_results(
    name: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[dict[str, object]],
    *,
    notes: Sequence[str] = (),
    tool_versions: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> str:
    """Prints the table and writes results/<name>.md and .json; returns the Markdown."""
    host = machine()
    used = tool_versions or {}
    lines = [
        f"# {title}",
        "",
        *markdown_table(columns, rows),
        "",
        *(f"- {note}" for note in notes),
        f"- Machine: {host['cores']} cores, {host['memory_gib']} GiB, {host['cpu']}; {host['os']}.",
        f"- Python {host['python']}" + "".join(f", {tool} {version}" for tool, version in used.items()) + ".",
        f"- Measured {host['date']}.",
    ]
    text = "\n".join(lines) + "\n"
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(text, encoding="utf-8")
    payload = {
        "title": title,
        "columns": list(columns),
        "rows": list(rows),
        "notes": list(notes),
        "machine": host,
        "versions": used,
        **(extra or {}),
    }
    (folder / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(text, flush=True)
    return text
