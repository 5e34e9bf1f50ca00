"""Turns the samples of each size into the report's table row and notes: medians, ratios, the target.

The issue's target is for 10M transactions: DuckDB at least 5x faster than pandas and at most a third
of its peak memory. Standard library only, like the orchestrator that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.features.measure import Sample
from bench.report import median, ratio

TARGET_SIZE = 10_000_000
TIME_TARGET = 5.0  # pandas time / DuckDB time, at least
MEMORY_TARGET = 3.0  # pandas peak / DuckDB peak, at least
KIB_PER_MIB = 1024

COLUMNS = [
    "transactions",
    "runs",
    "DuckDB s",
    "pandas s",
    "time pandas/DuckDB",
    "DuckDB peak RSS MiB",
    "pandas peak RSS MiB",
    "memory pandas/DuckDB",
]


@dataclass(frozen=True)
class Run:
    """One contender process: the orchestrator's measurement and the child's own report."""

    sample: Sample
    build_seconds: float
    rss_before_build_kib: int
    rows: int

    @classmethod
    def from_report(cls, sample: Sample, report: Mapping[str, object]) -> Run:
        return cls(
            sample=sample,
            build_seconds=float(str(report["build_seconds"])),
            rss_before_build_kib=int(str(report["rss_before_build_kib"])),
            rows=int(str(report["rows"])),
        )

    def record(self) -> dict[str, object]:
        return {
            "build_seconds": round(self.build_seconds, 3),
            "process_seconds": round(self.sample.wall_seconds, 3),
            "peak_rss_kib": self.sample.peak_rss_kib,
            "rss_before_build_kib": self.rss_before_build_kib,
        }


@dataclass(frozen=True)
class Medians:
    build_seconds: float
    process_seconds: float
    peak_mib: float
    before_build_mib: float

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Medians:
        return cls(
            build_seconds=median([run.build_seconds for run in runs]),
            process_seconds=median([run.sample.wall_seconds for run in runs]),
            peak_mib=median([run.sample.peak_rss_kib for run in runs]) / KIB_PER_MIB,
            before_build_mib=median([run.rss_before_build_kib for run in runs]) / KIB_PER_MIB,
        )


@dataclass(frozen=True)
class SizeResult:
    n_transactions: int
    runs: Mapping[str, Sequence[Run]]  # by contender: "duckdb", "pandas"
    checksum: Mapping[str, object]  # of the (verified equal) features: rows and float column sums

    @property
    def duckdb(self) -> Medians:
        return Medians.of(self.runs["duckdb"])

    @property
    def pandas(self) -> Medians:
        return Medians.of(self.runs["pandas"])

    @property
    def time_ratio(self) -> float:
        return ratio(self.pandas.build_seconds, self.duckdb.build_seconds)

    @property
    def memory_ratio(self) -> float:
        return ratio(self.pandas.peak_mib, self.duckdb.peak_mib)

    def row(self) -> dict[str, object]:
        """The table's columns, plus every sample and the medians for the JSON."""
        duckdb, pandas = self.duckdb, self.pandas
        return {
            "transactions": f"{self.n_transactions:,}",
            "runs": len(self.runs["duckdb"]),
            "DuckDB s": round(duckdb.build_seconds, 2),
            "pandas s": round(pandas.build_seconds, 2),
            "time pandas/DuckDB": round(self.time_ratio, 2),
            "DuckDB peak RSS MiB": round(duckdb.peak_mib),
            "pandas peak RSS MiB": round(pandas.peak_mib),
            "memory pandas/DuckDB": round(self.memory_ratio, 2),
            "output_rows": self.runs["duckdb"][0].rows,
            "checksum": dict(self.checksum),
            "medians": {"duckdb": dataclasses.asdict(duckdb), "pandas": dataclasses.asdict(pandas)},
            "samples": {name: [run.record() for run in runs] for name, runs in self.runs.items()},
        }


def target_note(results: Sequence[SizeResult]) -> str:
    """Whether the issue's target is met, judged at 10M; says so plainly when 10M was not measured."""
    wanted = f"DuckDB >= {TIME_TARGET:g}x faster and <= 1/{MEMORY_TARGET:g} of pandas' peak RSS at 10M"
    at_target = [result for result in results if result.n_transactions == TARGET_SIZE]
    if not at_target:
        return f"Target ({wanted}): not judged, 10M was not measured in this run."
    result = at_target[0]
    time_verdict = "met" if result.time_ratio >= TIME_TARGET else "NOT met"
    memory_verdict = "met" if result.memory_ratio >= MEMORY_TARGET else "NOT met"
    return (
        f"Target ({wanted}): time {time_verdict} (pandas/DuckDB {result.time_ratio:.2f}x), "
        f"memory {memory_verdict} (DuckDB peak = {1 / result.memory_ratio:.2f} of pandas')."
    )


def process_note(results: Sequence[SizeResult]) -> str:
    """Whole-process medians: interpreter start, imports and writing the output on top of the build."""
    parts = [
        f"{result.n_transactions:,}: DuckDB {result.duckdb.process_seconds:.2f} s / "
        f"{result.duckdb.before_build_mib:.0f} MiB, pandas {result.pandas.process_seconds:.2f} s / "
        f"{result.pandas.before_build_mib:.0f} MiB"
        for result in results
    ]
    return (
        "Whole process (interpreter start, imports, build, writing the output) and resident set after "
        "imports, before the build (medians): " + "; ".join(parts) + "."
    )


def samples_note(results: Sequence[SizeResult]) -> str:
    """Every build time, so a noisy sample behind a median (of two runs: their mean) is visible."""
    parts = [
        f"{result.n_transactions:,}: "
        + "; ".join(
            f"{name} " + ", ".join(f"{run.build_seconds:.2f}" for run in runs)
            for name, runs in result.runs.items()
        )
        for result in results
    ]
    return "Build-time samples (s, in run order): " + " | ".join(parts) + "."
