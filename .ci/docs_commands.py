"""Every shell command the documentation gives, and how each is proven: docs that cannot drift.

Collects each command in the ``bash``/``sh``/``shell``/``console`` fenced blocks of ``README.md``,
``docs/*.md`` and every folder's ``README.md`` and matches it against ``docs/commands.toml``, where
each command has one row saying how it is proven:

- ``proof = "ci"``: this script runs it (``--run``, in ``.ci/run`` after training) from the
  repository root and checks its exit code (``exit``, default 0) and that its output holds
  ``output``;
- ``proof = "test"``: the file ``by`` (a test or a ``.ci`` step) runs it; ``by`` must hold
  ``fragment`` (default: the command itself), so renaming either breaks the row;
- ``proof = "manual"``: it cannot run here, and ``reason`` says why (a registry, a Mac, a cloud
  account, a long-running server).

``--check`` (early in ``.ci/run``) fails on a documented command without a row, a row whose
command no longer appears, and a ``test`` row whose file does not hold its fragment.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "commands.toml"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"(?ms)^```(\w*)[^\n]*\n(.*?)^```")
SKIPPED_DIRS = {".git", ".pants.d", "dist", ".local", "node_modules", ".mypy_cache"}
PROOFS = {"ci", "test", "manual"}


@dataclass(frozen=True)
class Documented:
    command: str
    where: str  # path:line of the block's first line


def documents(root: Path = ROOT) -> list[Path]:
    """The root README, docs/*.md and every folder README, in a stable order."""
    readmes = [
        path
        for path in root.rglob("README.md")
        if not SKIPPED_DIRS & set(path.relative_to(root).parts) and path.parent != root
    ]
    return [root / "README.md", *sorted((root / "docs").glob("*.md")), *sorted(readmes)]


def documented_commands(root: Path = ROOT) -> list[Documented]:
    found: list[Documented] = []
    for path in documents(root):
        text = path.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            if block.group(1) not in SHELL_LANGUAGES:
                continue
            line_number = text.count("\n", 0, block.start(2)) + 1
            where = f"{path.relative_to(root)}:{line_number}"
            found.extend(Documented(command, where) for command in commands_in(block.group(2)))
    return found


def commands_in(block: str) -> Iterator[str]:
    """Each command of a block: continuation lines joined, comments and prompts removed."""
    pending = ""
    for raw in block.splitlines():
        line = strip_comment(raw).rstrip()
        if line.startswith("$ "):
            line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        command = (pending + line.strip()).strip()
        pending = ""
        if command:
            yield command


def strip_comment(line: str) -> str:
    """The line up to an unquoted ``#`` that starts a word (shell's rule for comments)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def load_table(path: Path = TABLE) -> list[dict[str, object]]:
    rows = tomllib.loads(path.read_text(encoding="utf-8")).get("command", [])
    return list(rows)


def problems(root: Path = ROOT, table: Path = TABLE) -> list[str]:
    """Everything that makes the table and the documents disagree, one sentence each."""
    documented = documented_commands(root)
    rows = load_table(table)
    found: list[str] = []
    by_command: dict[str, dict[str, object]] = {}
    for row in rows:
        command = str(row.get("run", ""))
        if command in by_command:
            found.append(f"{table.name}: `{command}` has two rows")
        by_command[command] = row
        found.extend(_row_problems(row, root))
    for item in documented:
        if item.command not in by_command:
            found.append(f"{item.where}: `{item.command}` has no row in {table.relative_to(root)}")
    seen = {item.command for item in documented}
    found.extend(
        f"{table.relative_to(root)}: `{command}` appears in no document (remove the row)"
        for command in by_command
        if command not in seen
    )
    return found


def _row_problems(row: dict[str, object], root: Path) -> list[str]:
    command, proof = row.get("run"), row.get("proof")
    if proof not in PROOFS:
        return [f"`{command}`: proof must be one of {sorted(PROOFS)}, not {proof!r}"]
    if proof == "manual" and not str(row.get("reason", "")).strip():
        return [f"`{command}`: a manual row needs a reason"]
    if proof == "test":
        by = root / str(row.get("by", ""))
        fragment = str(row.get("fragment", command))
        if not row.get("by") or not by.is_file():
            return [f"`{command}`: `by` must name a file that runs it, not {row.get('by')!r}"]
        if fragment not in by.read_text(encoding="utf-8", errors="replace"):
            return [f"`{command}`: {row['by']} does not hold `{fragment}`"]
    return []


def run_ci_rows(root: Path = ROOT, table: Path = TABLE, timeout_s: float = 300) -> list[str]:
    """Runs each ``proof = "ci"`` row in the repository root; the failures, one sentence each."""
    failures = []
    environment = {**os.environ, "DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
    environment |= {"BENTOML_DO_NOT_TRACK": "true", "DVC_NO_ANALYTICS": "1"}
    for row in load_table(table):
        if row.get("proof") != "ci":
            continue
        command = str(row["run"])
        print(f"$ {command}", flush=True)
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        output = result.stdout + result.stderr
        expected_exit = int(str(row.get("exit", 0)))
        expected_output = str(row.get("output", ""))
        if result.returncode != expected_exit:
            failures.append(f"`{command}` exited {result.returncode}, not {expected_exit}:\n{output[-2000:]}")
        elif expected_output not in output:
            failures.append(f"`{command}` printed no `{expected_output}`:\n{output[-2000:]}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help='also run every `proof = "ci"` row')
    parser.add_argument("--list", action="store_true", help="print every documented command and where")
    args = parser.parse_args(argv)
    if args.list:
        for item in documented_commands():
            print(f"{item.where}\t{item.command}")
        return 0
    found = problems()
    if not found and args.run:
        found = run_ci_rows()
    for problem in found:
        print(problem, file=sys.stderr)
    rows = load_table()
    counts = {proof: sum(row.get("proof") == proof for row in rows) for proof in sorted(PROOFS)}
    print(f"{len(documented_commands())} documented commands; table rows by proof: {counts}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
