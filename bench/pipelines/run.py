"""What DVC costs on top of Pants: a no-op `dvc repro -P`, and a one-param change against a full rerun.

    python3 bench/pipelines/run.py [--repeat 5] [--rerun-repeat 2]

Runs in a scratch clone of this checkout that carries its trained state (data/, dvc.lock files,
the DVC cache, .local/ and the champion bundles), so nothing here touches your registry or data;
train first with `./lifecycle --no-serve`. Stages run the packaged PEXes (MLOPS_STAGE_PEX_DIR),
as `./lifecycle` does, through a warm pantsd, as on a developer's machine. Measured side by side,
alternating:
  pants start:    `./pants run :dvc -- --version` (Pants and DVC start, no pipeline work)
  no-op repro:    `./pants run :dvc -- repro -P` with nothing changed (target: < 3 s above start)
  one param:      `exp run -P -S <agent3 params>:train.regularization=<new>` (DVC's own way to try a
                  parameter: it sets the value, reruns what depends on it and records an experiment)
  full rerun:     `repro -P --force` (every stage of every pipeline, data generation included)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.commands import TELEMETRY_OFF, run  # noqa: E402
from bench.report import median, ratio, write_results  # noqa: E402

STAGE_PROGRAMS = [
    "libs/datagen:generate",
    "agents/agent1:pipeline",
    "agents/agent2:pipeline",
    "agents/agent3:pipeline",
]
TRAINED_STATE = [
    ".local",
    "data",
    ".dvc/cache",
    *(f"agents/{a}/champion" for a in ("agent1", "agent2", "agent3")),
]
PARAMS = "pipelines/agent3/params.yaml"
PARAM = "train.regularization"


def require_trained(root: Path) -> None:
    missing = [
        path
        for path in ("data/raw", "pipelines/agent3/dvc.lock", ".local/mlflow.db")
        if not (root / path).exists()
    ]
    if missing:
        raise SystemExit(f"not trained yet ({', '.join(missing)} missing): run ./lifecycle --no-serve first")


def scratch_clone(scratch: Path) -> Path:
    repo = scratch / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    for key, value in (("user.email", "bench@example.invalid"), ("user.name", "bench")):
        run(repo, "git", "config", key, value)  # `dvc exp run` commits each experiment to a git ref
    for relative in TRAINED_STATE:
        source = ROOT / relative
        if source.is_dir():
            shutil.copytree(source, repo / relative, dirs_exist_ok=True, symlinks=True)
    for lock in ROOT.glob("pipelines/*/dvc.lock"):
        shutil.copy2(lock, repo / lock.relative_to(ROOT))
    return repo


def set_param(value: float) -> list[str]:
    """`dvc exp run`'s flag setting agent3's regularization: DVC edits the file, keeping its comments."""
    return ["-S", f"{PARAMS}:{PARAM}={value}"]


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def stages_run(output: str) -> list[str]:
    """Stages DVC executed, from its 'Running stage' lines."""
    return sorted({line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")})


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="samples of the start and no-op timings")
    parser.add_argument(
        "--rerun-repeat", type=int, default=2, help="samples of the one-param and full reruns"
    )
    args = parser.parse_args()
    require_trained(ROOT)
    scratch = Path(tempfile.mkdtemp(prefix="bench-pipelines-"))
    try:
        repo = scratch_clone(scratch)
        run(repo, "./pants", "package", *STAGE_PROGRAMS)
        env = {**os.environ, **TELEMETRY_OFF, "MLOPS_STAGE_PEX_DIR": str(repo / "dist")}
        dvc = ["./pants", "run", ":dvc", "--"]
        run(repo, *dvc, "repro", "-P", env=env)  # settle: the scratch copy is up to date after this
        samples: dict[str, list[float]] = {
            "pants start": [],
            "no-op repro": [],
            "one param": [],
            "full rerun": [],
        }
        for _ in range(args.repeat):
            samples["pants start"].append(timed(lambda: run(repo, *dvc, "--version", env=env)))
            samples["no-op repro"].append(timed(lambda: run(repo, *dvc, "repro", "-P", env=env)))
        reran: dict[str, list[str]] = {}
        for sample in range(args.rerun_repeat):
            for name, command in (
                ("one param", ["exp", "run", "-P", *set_param(0.9 + sample / 100)]),
                ("full rerun", ["repro", "-P", "--force"]),
            ):
                started = time.perf_counter()
                output = run(repo, *dvc, *command, env=env)
                samples[name].append(time.perf_counter() - started)
                reran[name] = stages_run(output)
        tool_versions = {
            "dvc": run(repo, *dvc, "--version", env=env).strip().splitlines()[-1],
            "pants": run(repo, "./pants", "--version").strip(),
        }
    finally:
        subprocess.run(["./pants", "kill-pantsd"], cwd=scratch / "repo", capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    medians = {name: median(values) for name, values in samples.items()}
    overhead = medians["no-op repro"] - medians["pants start"]
    rows = [
        {
            "measure": name,
            "runs": len(values),
            "median (s)": round(medians[name], 2),
            "samples (s)": ", ".join(f"{value:.1f}" for value in values),
        }
        for name, values in samples.items()
    ]
    share = ratio(medians["one param"], medians["full rerun"])
    notes = [
        f"No-op `dvc repro -P` costs {overhead:.2f} s above Pants' own start (target: under 3 s).",
        f"A one-param change (`dvc exp run -P -S {PARAMS}:{PARAM}=...`) takes {share}"
        f" of a full rerun: {len(reran['one param'])} of {len(reran['full rerun'])} stages ran"
        f" ({', '.join(stage.split(':')[-1] for stage in reran['one param'])} of agent3).",
        "Default data size (pipelines/data/params.yaml); stages run packaged PEXes "
        + (
            "without pantsd (PANTS_PANTSD=false: every command pays Pants' full start)."
            if os.environ.get("PANTS_PANTSD", "").lower() == "false"
            else "through a warm pantsd."
        ),
    ]
    write_results(
        "pipelines",
        "DVC pipelines: no-op repro, one-param change and full rerun",
        ["measure", "runs", "median (s)", "samples (s)"],
        rows,
        notes=notes,
        tool_versions=tool_versions,
        extra={"noop_overhead_s": round(overhead, 2), "stages_run": reran},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
