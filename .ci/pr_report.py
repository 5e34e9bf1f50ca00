"""The pull request's report: what it affects, and for each retrained agent what changed against the base.

    python3 .ci/pr_report.py --base origin/main > pr-report.md

For each affected pipeline (affected.json): `dvc metrics diff` and `dvc params diff` against the
base branch (the base's outputs come from the team DVC remote), and the gate's decision, previewed
against the base's champion by the registry gate's own rule (`libs/tracking:cli -- gate-preview`).
`dvc plots diff` writes dvc_plots/index.html for the job to upload. The same Markdown goes to the
job's step summary and to the sticky PR comment. Standard library only: DVC and the gate run
through Pants.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- mlops-pr-report -->"


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def dvc(*args: str) -> str:
    result = _run("./pants", "-lerror", "run", "//:dvc", "--", *args)
    if result.returncode != 0:
        raise SystemExit(f"pr_report: dvc {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def base_registration(base: str, agent: str, scratch: Path) -> Path | None:
    """The base branch's registration.json, fetched from the team remote; None if the base has none."""
    target = scratch / f"{agent}-base-registration.json"
    result = _run("./pants", "-lerror", "run", "//:dvc", "--", "get", ".", f"data/{agent}/registration.json",
                  "--rev", base, "-o", str(target))  # fmt: skip
    return target if result.returncode == 0 and target.is_file() else None


def gate_line(base: str, agent: str, scratch: Path) -> str:
    head = ROOT / "data" / agent / "registration.json"
    if not head.is_file():
        return "gate: not run (no registration.json)"
    base_file = base_registration(base, agent, scratch)
    result = _run("./pants", "-lerror", "run", "libs/tracking:cli", "--", "gate-preview",
                  str(base_file or "-"), str(head))  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"pr_report: gate preview for {agent} failed:\n{result.stderr}")
    return "gate: " + result.stdout.strip()


def agent_section(base: str, pipeline: str, scratch: Path) -> list[str]:
    agent = Path(pipeline).parent.name
    metrics = dvc("metrics", "diff", base, "--md", "--all", "--targets", f"data/{agent}/metrics.json")
    params = dvc("params", "diff", base, "--md", "--targets", str(Path(pipeline).with_name("params.yaml")))
    if len(params.splitlines()) <= 2:  # DVC prints the table's header even when nothing changed
        params = ""
    return [
        f"### {agent}",
        "",
        gate_line(base, agent, scratch),
        "",
        f"**Metrics** (`dvc metrics diff {base}`)",
        "",
        metrics or "no metrics",
        "",
        f"**Params** (`dvc params diff {base}`)",
        "",
        params or "no params changed",
        "",
    ]


def affected_section(affected: dict[str, list[str]]) -> list[str]:
    lines = ["### Affected", ""]
    for title, key in (("tests", "tests"), ("pipelines retrained", "pipelines"), ("images built", "images")):
        items = affected[key]
        lines.append(f"- {title} ({len(items)}): " + (", ".join(f"`{item}`" for item in items) or "none"))
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="the base branch's ref, e.g. origin/main")
    parser.add_argument("--affected", type=Path, default=ROOT / "affected.json")
    args = parser.parse_args(argv)
    affected = json.loads(args.affected.read_text(encoding="utf-8"))
    lines = [MARKER, f"## What this pull request changes (against `{args.base}`)", ""]
    lines += affected_section(affected)
    with tempfile.TemporaryDirectory() as scratch:
        for pipeline in affected["pipelines"]:
            lines += agent_section(args.base, pipeline, Path(scratch))
    if affected["pipelines"]:
        dvc("plots", "diff", args.base, "-o", "dvc_plots")
        lines.append("Plots against the base: the `dvc-plots` artifact (dvc_plots/index.html).")
    else:
        lines.append("No pipeline retrained: no metrics, params or gate to compare.")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
