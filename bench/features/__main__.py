"""agent2's feature build, DuckDB SQL (production) against plain pandas, side by side in one run.

    ./pants run bench/features:features -- [--sizes 1000000,10000000] [--runs 3,2] [--regenerate]

For each size: generates (or reuses) the inputs, then rotates three contenders, each sample in a
fresh process: DuckDB on one thread (pandas' own, so the ratio compares engines at equal threads),
DuckDB on every core (as agent2's stage runs it) and pandas; after the first round it checks that
all built the same features (exit 1 if not). Reports median build time and peak RSS, and each
pandas/DuckDB ratio's median and range over the rounds, in bench/results/features.md and .json.
Standard library only: see ``bench.features.measure`` for why.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.features.cache import (
    GENERATION,
    InputSpec,
    default_root,
    is_current,
    read_json,
    size_folder,
    write_json,
)
from bench.features.child import DEFAULT_HOLDOUT_DAYS
from bench.features.measure import run_checked, run_module
from bench.features.summary import (
    COLUMNS,
    KIB_PER_MIB,
    Run,
    SizeResult,
    process_note,
    samples_note,
    target_note,
)
from bench.report import versions, write_results

CONTENDERS = {
    "duckdb-1": "bench.features.run_duckdb_one_thread",
    "duckdb": "bench.features.run_duckdb",
    "pandas": "bench.features.run_pandas",
}
DEFAULT_SIZES = "1000000,10000000"
LARGE = 10_000_000  # sizes from here may get their own number of runs (each pandas sample takes seconds)
# Five samples each: with two, one noisy pandas sample on a shared machine moved the ratio by a third.
RUNS_SMALL, RUNS_LARGE = 5, 5
TITLE = "agent2 features: DuckDB SQL (production) vs plain pandas"


def _integers(text: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from error
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/features", description=TITLE)
    parser.add_argument(
        "--sizes", type=_integers, default=_integers(DEFAULT_SIZES), help="n_transactions list"
    )
    parser.add_argument(
        "--runs",
        type=_integers,
        help=f"samples per contender: one, or one per size (default {RUNS_SMALL}; {RUNS_LARGE} from 10M)",
    )
    parser.add_argument("--holdout-days", type=int, default=DEFAULT_HOLDOUT_DAYS)
    parser.add_argument("--seed", type=int, default=InputSpec.seed, help="the generator's seed")
    parser.add_argument("--cache-dir", type=Path, help="default: .local/bench/features in the repository")
    parser.add_argument("--regenerate", action="store_true", help="generate the inputs even if cached")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = [RUNS_LARGE if size >= LARGE else RUNS_SMALL for size in args.sizes]
    elif len(args.runs) == 1:
        args.runs = args.runs * len(args.sizes)
    elif len(args.runs) != len(args.sizes):
        parser.error(f"--runs has {len(args.runs)} values for {len(args.sizes)} sizes")
    return args


def ensure_inputs(spec: InputSpec, root: Path, regenerate: bool) -> tuple[Path, str]:
    """The size's input folder, generated in a child process unless cached; and a note on generation."""
    folder = size_folder(root, spec)
    if not regenerate and is_current(folder, spec):
        known = read_json(folder / GENERATION) or {}
        cost = f"{known.get('seconds', '?')} s, peak RSS {known.get('peak_rss_mib', '?')} MiB"
        return folder, f"{spec.n_transactions:,}: {cost} (cached from an earlier run)"
    print(f"generating {spec.n_transactions:,} transactions in {folder}", flush=True)
    options = {"--out": folder, "--n-transactions": spec.n_transactions, "--seed": spec.seed}
    options |= {"--scores-seed": spec.scores_seed, "--flag-rate": spec.flag_rate}
    sample = run_checked("bench.features.generate", [str(item) for pair in options.items() for item in pair])
    seconds, peak = round(sample.wall_seconds, 1), round(sample.peak_rss_kib / KIB_PER_MIB)
    write_json({"seconds": seconds, "peak_rss_mib": peak}, folder / GENERATION)
    print(f"generated in {seconds} s, peak RSS {peak} MiB", flush=True)
    return folder, f"{spec.n_transactions:,}: {seconds} s, peak RSS {peak} MiB (generated in this run)"


def verify(scratch: Path, n_transactions: int) -> dict[str, object]:
    """Every contender's first output must agree with the production one; a mismatch ends the run loudly."""
    report = scratch / "verify.json"
    expected = scratch / "duckdb-0.parquet"
    for other in (name for name in CONTENDERS if name != "duckdb"):
        actual = scratch / f"{other}-0.parquet"
        sample = run_module("bench.features.verify", [str(expected), str(actual), "--report", str(report)])
        if sample.returncode != 0:
            raise SystemExit(
                f"FAILED at {n_transactions:,} transactions: the {other} features differ from agent2's "
                "DuckDB features (MISMATCH lines above); nothing is reported for implementations that"
                " disagree."
            )
    checksum = json.loads(report.read_text(encoding="utf-8"))["checksum"]
    print(f"  verified: every contender built the same features {checksum}", flush=True)
    return dict(checksum)


def measure_size(
    folder: Path, n_transactions: int, runs: int, holdout_days: int, scratch: Path
) -> SizeResult:
    """Rotates the contenders' order round by round so drifting noise hits each alike."""
    measured: dict[str, list[Run]] = {name: [] for name in CONTENDERS}
    checksum: dict[str, object] = {}
    names = list(CONTENDERS)
    for index in range(runs):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        for name in order:
            out, report = scratch / f"{name}-{index}.parquet", scratch / f"{name}-{index}.json"
            arguments = ["--data", str(folder), "--out", str(out), "--report", str(report)]
            sample = run_checked(CONTENDERS[name], [*arguments, "--holdout-days", str(holdout_days)])
            run = Run.from_report(sample, json.loads(report.read_text(encoding="utf-8")))
            measured[name].append(run)
            print(
                f"  {name:6} run {index + 1}/{runs}: build {run.build_seconds:.2f} s, process "
                f"{sample.wall_seconds:.2f} s, peak RSS {sample.peak_rss_kib / KIB_PER_MIB:.0f} MiB",
                flush=True,
            )
        if index == 0:
            checksum = verify(scratch, n_transactions)
    return SizeResult(n_transactions=n_transactions, runs=measured, checksum=checksum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.cache_dir or default_root()
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    results: list[SizeResult] = []
    generation: list[str] = []
    for size, runs in zip(args.sizes, args.runs, strict=True):
        folder, note = ensure_inputs(InputSpec(n_transactions=size, seed=args.seed), root, args.regenerate)
        generation.append(note)
        print(f"{size:,} transactions: {runs} run(s) per contender", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-features-") as scratch:
            results.append(measure_size(folder, size, runs, args.holdout_days, Path(scratch)))
    notes = [
        "Build time: reading the Parquet inputs to the final DataFrame, timed inside each contender's "
        "process; peak RSS: that process's ru_maxrss (os.wait4). Medians; each sample a fresh process, "
        "contenders alternating.",
        "DuckDB: agents/agent2/features.sql through libs.warehouse.run_query, as agent2's features stage "
        "runs it, once with `threads=1` (pandas runs on one core: equal threads) and once with DuckDB's "
        "default (every core, as the stage runs it). pandas: bench/features/pandas_features.py, the "
        "same query in vectorised pandas, reading only the columns it uses.",
        "Ratios: pandas over DuckDB within each round (samples taken back to back), then the median and "
        "the range (min-max) over the rounds; the time columns are medians of each contender alone.",
        f"Both results checked equal (same rows and columns, floats within 1e-9) at every size; "
        f"holdout_days {args.holdout_days}; output rows per size: "
        + ", ".join(f"{result.n_transactions:,}: {result.runs['duckdb'][0].rows:,}" for result in results)
        + " (5 stores x 20 products x calendar days, so the output does not grow with transactions).",
        "Inputs: libs.datagen's world (generator defaults, seed "
        f"{args.seed}) at each size, plus a seeded synthetic agent1 scores table with ~1% flagged; "
        "generation time and peak RSS: " + "; ".join(generation) + ".",
        samples_note(results),
        process_note(results),
        target_note(results),
        f"Whole benchmark run took {time.perf_counter() - started:.0f} s; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (a shared 2-core machine).",
    ]
    write_results(
        name="features",
        title=TITLE,
        columns=COLUMNS,
        rows=[result.row() for result in results],
        notes=notes,
        tool_versions=versions(["duckdb", "pandas", "pyarrow", "numpy"]),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
