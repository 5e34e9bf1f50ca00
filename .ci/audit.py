"""Audits every resolve's lockfile for known vulnerabilities with pip-audit; fails on any finding.

Every resolve in pants.toml is audited (a new agent's resolve too, with no edit here): its lockfile's
pins, with their sha256 hashes, become a requirements file that pip-audit checks without installing
or resolving anything (`--disable-pip --no-deps`). Findings listed in .ci/audit-ignore.toml, each
with a reason and a review date, are let through; any other finding fails the run.

pip-audit asks PyPI's JSON API about each pinned release. Where that API answers for a project's
newest release only (a mirror or proxy that does not serve release pages), a pin that is that newest
release is still checked against the project page's advisories; pins the service could not answer for
are counted and listed as not audited. `--strict` makes them fail the run too.

    python3 .ci/audit.py [--strict] [--out dist/audit]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import functools
import json
import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tools_venv import tools_bin

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".ci" / "audit-ignore.toml"
PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"


@dataclass(frozen=True)
class Finding:
    resolve: str
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]

    def ids(self) -> set[str]:
        return {self.id, *self.aliases}

    def __str__(self) -> str:
        fix = f"fixed in {', '.join(self.fix_versions)}" if self.fix_versions else "no fixed release"
        return f"{self.resolve}: {self.package}=={self.version} {self.id} ({fix})"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolves() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pants.toml").read_text())
    return {name: ROOT / lock for name, lock in config["python"]["resolves"].items()}


def pinned_requirements(lockfile: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, version, hashes) of every locked distribution; Pants' header lines start with //."""
    text = "".join(line for line in lockfile.read_text().splitlines(True) if not line.startswith("//"))
    lock = json.loads(text)
    pins = {
        (
            requirement["project_name"],
            requirement["version"],
            tuple(f"{a['algorithm']}:{a['hash']}" for a in requirement["artifacts"]),
        )
        for resolve in lock["locked_resolves"]
        for requirement in resolve["locked_requirements"]
    }
    return sorted(pins)


def load_ignores(today: datetime.date) -> list[dict[str, object]]:
    entries = tomllib.loads(IGNORE_FILE.read_text()).get("ignore", [])
    problems = []
    for entry in entries:
        label = entry.get("id", "<no id>")
        if not str(entry.get("reason", "")).strip():
            problems.append(f"{label}: no reason given")
        review_by = entry.get("review_by")
        if not isinstance(review_by, datetime.date):
            problems.append(f"{label}: review_by must be a date (YYYY-MM-DD)")
        elif review_by < today:
            problems.append(f"{label}: review date {review_by} has passed; review it again")
    if problems:
        raise SystemExit(f"{IGNORE_FILE.name}:\n  " + "\n  ".join(problems))
    return entries


def ignored(finding: Finding, entries: list[dict[str, object]]) -> bool:
    for entry in entries:
        resolves_allowed = entry.get("resolves") or []
        if not isinstance(resolves_allowed, list):
            raise SystemExit(f"{IGNORE_FILE.name}: {entry['id']}: resolves must be a list of resolve names")
        if entry["id"] in finding.ids() and (not resolves_allowed or finding.resolve in resolves_allowed):
            return True
    return False


def run_pip_audit(resolve: str, requirements: Path, report: Path) -> list[dict[str, object]]:
    """pip-audit's per-dependency answers; its exit code is ours to decide from the findings."""
    command = [
        str(tools_bin() / "pip-audit"),
        "--disable-pip",
        "--no-deps",
        "--requirement",
        str(requirements),
        "--format",
        "json",
        "--output",
        str(report),
        "--progress-spinner",
        "off",
        "--cache-dir",
        str(Path.home() / ".cache" / "mlops-ci" / "pip-audit"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if not report.is_file():
        raise SystemExit(f"pip-audit wrote no report for {resolve}:\n{result.stdout}\n{result.stderr}")
    dependencies: list[dict[str, object]] = json.loads(report.read_text())["dependencies"]
    return dependencies


@functools.cache
def newest_release_advisories(name: str, version: str) -> tuple[dict[str, object], ...] | None:
    """The project page's advisories when ``version`` is the newest release (they are about it), else None."""
    try:
        with urllib.request.urlopen(PYPI_PROJECT.format(name=name), timeout=30) as response:  # noqa: S310
            project = json.load(response)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError):
        return None
    if project.get("info", {}).get("version") != version:
        return None
    advisories: tuple[dict[str, object], ...] = tuple(project.get("vulnerabilities", []))
    return advisories


def audit(resolve: str, lockfile: Path, out: Path) -> tuple[list[Finding], list[str], int]:
    """Findings, the pins nobody could answer for, and the number of pins."""
    pins = pinned_requirements(lockfile)
    requirements = out / f"{resolve}.requirements.txt"
    requirements.write_text(
        "".join(
            f"{name}=={version} " + " ".join(f"--hash={h}" for h in hashes) + "\n"
            for name, version, hashes in pins
        )
    )
    answers = run_pip_audit(resolve, requirements, out / f"{resolve}.pip-audit.json")
    findings = [
        Finding(
            resolve,
            str(answer["name"]),
            str(answer["version"]),
            str(vuln["id"]),
            tuple(vuln.get("aliases", [])),
            tuple(vuln.get("fix_versions", [])),
        )
        for answer in answers
        if "skip_reason" not in answer
        for vuln in answer.get("vulns", [])  # type: ignore[attr-defined]
    ]
    versions = {canonical(name): version for name, version, _ in pins}
    skipped = {
        str(answer["name"]): versions.get(canonical(str(answer["name"])), "")
        for answer in answers
        if "skip_reason" in answer
    }
    unaudited = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        fallbacks = dict(
            zip(
                skipped, pool.map(lambda item: newest_release_advisories(*item), skipped.items()), strict=True
            )
        )
    for name, advisories in fallbacks.items():
        if advisories is None:
            unaudited.append(f"{name}=={skipped[name]}")
            continue
        findings += [
            Finding(
                resolve,
                name,
                skipped[name],
                str(advisory["id"]),
                tuple(advisory.get("aliases", [])),  # type: ignore[arg-type]
                tuple(advisory.get("fixed_in", [])),  # type: ignore[arg-type]
            )
            for advisory in advisories
        ]
    return findings, sorted(unaudited), len(pins)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--strict", action="store_true", help="fail when a pin could not be audited")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "audit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    entries = load_ignores(datetime.date.today())
    failed, unaudited_total = [], 0
    for resolve, lockfile in resolves().items():
        findings, unaudited, total = audit(resolve, lockfile, args.out)
        blocking = [finding for finding in findings if not ignored(finding, entries)]
        print(
            f"{resolve}: {total} pins, {total - len(unaudited)} audited, {len(findings)} finding(s), "
            f"{len(findings) - len(blocking)} ignored as reviewed, {len(unaudited)} not audited"
        )
        for finding in findings:
            print(f"  {'ignored' if finding not in blocking else 'VULNERABLE'}: {finding}")
        failed += blocking
        unaudited_total += len(unaudited)
        if unaudited:
            print(f"  not audited (no answer from the vulnerability service): {', '.join(unaudited)}")
    if failed:
        print(f"{len(failed)} unignored finding(s): bump the pins, or review them into {IGNORE_FILE.name}")
        return 1
    if unaudited_total and args.strict:
        print(f"{unaudited_total} pin(s) could not be audited (--strict)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
