"""What a change since a base ref affects: tests to run, pipelines to repro, images to package.

    python3 .ci/affected.py --since origin/main          # for people
    python3 .ci/affected.py --since origin/main --json   # for CI

Two graphs, each from the tool that owns it, so no file list is kept here:
- code: Pants' `--changed-since`/`--changed-dependents=transitive` over a build graph in which every
  agent owns its dvc.yaml, params.yaml and SQL. A pipeline is affected when its agent's pipeline
  program is (its code, libs it imports, its params, the stage runner); a change to the data
  generator affects every pipeline, since all of them start from the generated data.
- data: DVC's stage graph (`dvc dag --dot`). A pipeline that reads another's outputs is affected
  with it (agent2 trains on agent1's scores), and so is its agent's image, which carries the
  champion those outputs train. Tests follow code only: agent2's tests do not read agent1's data.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_GENERATOR = "libs/datagen:generate"


@dataclass(frozen=True)
class Affected:
    since: str
    tests: list[str]
    pipelines: list[str]
    images: list[str]


REPORTED_TYPES = ("python_test", "pex_binary", "docker_image")
# Baselines that only benchmarks build (bench/artifacts' monolith): never a pull request's work.
BENCHMARK_TAG = "benchmark"


def changed(since: str, *, pants: list[str]) -> dict[str, list[str]]:
    """Addresses changed since `since` or depending on a changed one, by target type (one Pants run)."""
    command = [
        *pants,
        f"--changed-since={since}",
        "--changed-dependents=transitive",
        f"--filter-target-type={','.join(REPORTED_TYPES)}",
        f"--filter-tag-regex=-^{BENCHMARK_TAG}$",
        "peek",
        "--exclude-defaults",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"affected: {' '.join(command)} failed:\n{result.stderr}")
    by_type: dict[str, set[str]] = {target_type: set() for target_type in REPORTED_TYPES}
    for target in json.loads(result.stdout or "[]"):
        by_type[target["target_type"]].add(target["address"])
    return {target_type: sorted(addresses) for target_type, addresses in by_type.items()}


def agent_pipelines() -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.glob("pipelines/*/dvc.yaml")
        if path.parent.name != "data"
    )


def pipelines_for(programs: list[str]) -> list[str]:
    """dvc.yaml files to repro: one per affected `agents/<agent>:pipeline` program."""
    if DATA_GENERATOR in programs:
        return agent_pipelines()
    agents = {
        program.split(":")[0].removeprefix("agents/") for program in programs if program.endswith(":pipeline")
    }
    return sorted(
        f"pipelines/{agent}/dvc.yaml"
        for agent in agents
        if (ROOT / "pipelines" / agent / "dvc.yaml").is_file()
    )


DAG_HEADER = "strict digraph"  # how `dvc dag --dot` starts its answer
# Graphs kept under .local/affected: one per recent state of the pipelines' files (branches a
# developer switches between), the least recently used deleted beyond this.
KEPT_GRAPHS = 16
STALE_PARTIAL_S = 3600  # a partial file this old was left by a run that was killed while writing
_EDGE = re.compile(r'^"(?P<upstream>[^"]+)" -> "(?P<downstream>[^"]+)";$')


def without_daemon(pants: list[str]) -> list[str]:
    """``pants`` run without pantsd; Pants refuses the flag twice, and the caller's args may hold it."""
    return pants if "--no-pantsd" in pants else [*pants, "--no-pantsd"]


def dag_inputs() -> list[Path]:
    """Every file `dvc dag` reads: stage files and tracked data anywhere in the tree, the YAML beside
    each stage file (params and `vars:` files), which files DVC ignores, its config and its pin."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    paths = [ROOT / name for name in listed if name]
    stage_dirs = {path.parent for path in paths if path.name == "dvc.yaml"}
    files = {
        path
        for path in paths
        if path.suffix == ".dvc" or (path.parent in stage_dirs and path.suffix in (".yaml", ".yml"))
    }
    fixed = (".dvcignore", ".dvc/config", ".dvc/config.local", "3rdparty/python/tools.lock")
    return sorted(path for path in files | {ROOT / name for name in fixed} if path.is_file())


def dag_key() -> str:
    digest = hashlib.sha256()
    for path in dag_inputs():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def dvc_dag(*, pants: list[str]) -> str:
    """`dvc dag --dot`, kept under .local/affected keyed by the files it reads.

    Asking DVC costs a Pants start without the daemon (about 30 s); the answer changes only with
    those files, so a second question about the same pipelines (a reviewer's rerun, the next commit
    of a branch that left the pipelines alone) reads the kept answer.
    """
    kept = ROOT / ".local" / "affected" / f"dvc-dag-{dag_key()}.dot"
    if kept.is_file():
        answer = kept.read_text(encoding="utf-8", errors="replace")
        if answer.startswith(DAG_HEADER) and answer.rstrip().endswith("}"):
            with contextlib.suppress(OSError):
                os.utime(kept)  # recently used: the last to be pruned
            return answer
        # Not a whole graph (emptied or edited by hand): edges read from it would be missing.
        kept.unlink()
    command = [*without_daemon(pants), "-lerror", "run", "//:dvc", "--", "dag", "--dot"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"affected: {' '.join(command)} failed:\n{result.stderr}")
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(result.stdout, encoding="utf-8")
        partial.replace(kept)  # whole or absent: a concurrent caller never reads half a graph
        prune_kept_graphs(kept.parent)
    except OSError as error:  # keeping it only saves time; the answer stands
        print(f"affected: DVC's graph not kept ({error})", file=sys.stderr)
    return result.stdout


def prune_kept_graphs(folder: Path, keep: int = KEPT_GRAPHS, now: float | None = None) -> None:
    """Deletes all but the ``keep`` most recently used graphs, and partial files killed runs left:
    without this the folder grows by one graph for every state of the pipelines ever asked about."""
    now = time.time() if now is None else now
    graphs = sorted(_modified(folder.glob("dvc-dag-*.dot")), reverse=True)
    partials = [
        (at, path) for at, path in _modified(folder.glob("dvc-dag-*.partial")) if now - at > STALE_PARTIAL_S
    ]
    for _, path in graphs[keep:] + partials:
        with contextlib.suppress(OSError):  # another run pruned it first
            path.unlink()


def _modified(paths: Iterable[Path]) -> list[tuple[float, Path]]:
    """(modification time, path) of each path still there: another run may be pruning beside this one."""
    found = []
    for path in paths:
        with contextlib.suppress(OSError):
            found.append((path.stat().st_mtime, path))
    return found


def pipeline_edges(*, pants: list[str]) -> set[tuple[str, str]]:
    """(upstream dvc.yaml, downstream dvc.yaml) pairs where a stage of one reads an output of the other."""
    edges = set()
    for line in dvc_dag(pants=pants).splitlines():
        match = _EDGE.match(line.strip())
        if match:
            upstream, downstream = (match.group(name).split(":")[0] for name in ("upstream", "downstream"))
            if upstream != downstream:
                edges.add((upstream, downstream))
    return edges


def downstream_closure(pipelines: list[str], edges: set[tuple[str, str]]) -> list[str]:
    """The pipelines and every pipeline that reads their outputs, directly or through another."""
    reached = set(pipelines)
    frontier = list(pipelines)
    while frontier:
        upstream = frontier.pop()
        for edge_from, edge_to in edges:
            if edge_from == upstream and edge_to not in reached:
                reached.add(edge_to)
                frontier.append(edge_to)
    return sorted(reached)


def agent_image(pipeline: str) -> str | None:
    """`agents/<agent>:image` for `pipelines/<agent>/dvc.yaml`, if the agent ships one (`agent()` macro)."""
    agent = Path(pipeline).parent.name
    build = ROOT / "agents" / agent / "BUILD"
    return f"agents/{agent}:image" if build.is_file() and "agent(" in build.read_text() else None


def affected(since: str, *, pants: list[str]) -> Affected:
    targets = changed(since, pants=pants)
    tests = [address for address in targets["python_test"] if ":" in address]
    pipelines = pipelines_for(targets["pex_binary"])
    if pipelines:
        pipelines = downstream_closure(pipelines, pipeline_edges(pants=pants))
    images = set(targets["docker_image"]) | {image for p in pipelines if (image := agent_image(p))}
    return Affected(since=since, tests=tests, pipelines=pipelines, images=sorted(images))


def describe(result: Affected) -> str:
    lines = [f"Affected since {result.since}:"]
    for title, items in (
        ("tests to run", result.tests),
        ("pipelines to repro", result.pipelines),
        ("images to package", result.images),
    ):
        lines.append(f"  {title} ({len(items)})")
        lines.extend(f"    {item}" for item in items)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--since", required=True, help="base ref, e.g. origin/main or HEAD~1")
    parser.add_argument("--json", action="store_true", help="print JSON for CI")
    parser.add_argument(
        "--json-file", type=Path, help="also write the JSON to this file (one Pants run for both)"
    )
    args = parser.parse_args(argv)
    if not args.since.strip():
        parser.error("--since needs a ref (an empty one would compare nothing and report nothing)")
    pants = [str(ROOT / "pants"), *os.environ.get("MLOPS_AFFECTED_PANTS_ARGS", "").split()]
    result = affected(args.since, pants=pants)
    if args.json_file:
        args.json_file.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    print(json.dumps(asdict(result), indent=2) if args.json else describe(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
