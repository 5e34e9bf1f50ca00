"""Turns the samples of each size into the report's table row and notes: medians, ratios, the target.

The target is for 10M transactions: DuckDB at least 5x faster than pandas and at most a third of its
peak memory, judged at equal threads (DuckDB on one thread, as pandas runs); DuckDB on every core is
reported beside it. Each ratio is taken within a round (samples back to back) and reported as the
median and range over the rounds, since one noisy sample on a shared machine moves a single ratio.
Standard library only, like the orchestrator that uses it.
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
    "DuckDB 1 thread s",
    "DuckDB all cores s",
    "pandas s",
    "time pandas/DuckDB 1 thread (range)",
    "time pandas/DuckDB all cores (range)",
    "DuckDB 1 thread peak RSS MiB",
    "DuckDB all cores peak RSS MiB",
    "pandas peak RSS MiB",
    "memory pandas/DuckDB 1 thread (range)",
]
ONE_THREAD, ALL_CORES, PANDAS = "duckdb-1", "duckdb", "pandas"


@dataclass(frozen=True)
class Spread:
    """A ratio's median and range over the rounds."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(median(values), min(values), max(values))

    def text(self) -> str:
        return f"{self.median:.2f} ({self.low:.2f}-{self.high:.2f})"


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
    runs: Mapping[str, Sequence[Run]]  # by contender: ONE_THREAD, ALL_CORES, PANDAS
    checksum: Mapping[str, object]  # of the (verified equal) features: rows and float column sums

    def medians(self, name: str) -> Medians:
        return Medians.of(self.runs[name])

    def time_ratio(self, duckdb: str) -> Spread:
        """pandas' build time over DuckDB's, round by round."""
        pairs = zip(self.runs[PANDAS], self.runs[duckdb], strict=True)
        return Spread.of([ratio(pandas.build_seconds, other.build_seconds) for pandas, other in pairs])

    def memory_ratio(self, duckdb: str) -> Spread:
        pairs = zip(self.runs[PANDAS], self.runs[duckdb], strict=True)
        return Spread.of(
            [ratio(pandas.sample.peak_rss_kib, other.sample.peak_rss_kib) for pandas, other in pairs]
        )

    def row(self) -> dict[str, object]:
        """The table's columns, plus every sample and the medians for the JSON."""
        one, every, pandas = (self.medians(name) for name in (ONE_THREAD, ALL_CORES, PANDAS))
        return {
            "transactions": f"{self.n_transactions:,}",
            "runs": len(self.runs[PANDAS]),
            "DuckDB 1 thread s": round(one.build_seconds, 2),
            "DuckDB all cores s": round(every.build_seconds, 2),
            "pandas s": round(pandas.build_seconds, 2),
            "time pandas/DuckDB 1 thread (range)": self.time_ratio(ONE_THREAD).text(),
            "time pandas/DuckDB all cores (range)": self.time_ratio(ALL_CORES).text(),
            "DuckDB 1 thread peak RSS MiB": round(one.peak_mib),
            "DuckDB all cores peak RSS MiB": round(every.peak_mib),
            "pandas peak RSS MiB": round(pandas.peak_mib),
            "memory pandas/DuckDB 1 thread (range)": self.memory_ratio(ONE_THREAD).text(),
            "output_rows": self.runs[ALL_CORES][0].rows,
            "checksum": dict(self.checksum),
            "ratios": {
                "time_one_thread": dataclasses.asdict(self.time_ratio(ONE_THREAD)),
                "time_all_cores": dataclasses.asdict(self.time_ratio(ALL_CORES)),
                "memory_one_thread": dataclasses.asdict(self.memory_ratio(ONE_THREAD)),
                "memory_all_cores": dataclasses.asdict(self.memory_ratio(ALL_CORES)),
            },
            "medians": {name: dataclasses.asdict(self.medians(name)) for name in self.runs},
            "samples": {name: [run.record() for run in runs] for name, runs in self.runs.items()},
        }


def target_note(results: Sequence[SizeResult]) -> str:
    """Whether the target is met at 10M at equal threads (medians; the range says how firmly)."""
    wanted = f"DuckDB >= {TIME_TARGET:g}x faster and <= 1/{MEMORY_TARGET:g} of pandas' peak RSS at 10M"
    at_target = [result for result in results if result.n_transactions == TARGET_SIZE]
    if not at_target:
        return f"Target ({wanted}): not judged, 10M was not measured in this run."
    result = at_target[0]
    one, every = result.time_ratio(ONE_THREAD), result.time_ratio(ALL_CORES)
    memory = result.memory_ratio(ONE_THREAD)

    def verdict(spread: Spread, goal: float) -> str:
        if spread.low >= goal:
            return "met in every round"
        return "met by the median, not in every round" if spread.median >= goal else "NOT met"

    return (
        f"Target ({wanted}), at equal threads: time {verdict(one, TIME_TARGET)} (pandas/DuckDB 1 thread "
        f"{one.text()}), memory {verdict(memory, MEMORY_TARGET)} ({memory.text()}). With every core, as "
        f"production runs it: time {verdict(every, TIME_TARGET)} ({every.text()})."
    )


def process_note(results: Sequence[SizeResult]) -> str:
    """Whole-process medians: interpreter start, imports and writing the output on top of the build."""
    parts = [
        f"{result.n_transactions:,}: "
        + ", ".join(
            f"{name} {medians.process_seconds:.2f} s / {medians.before_build_mib:.0f} MiB"
            for name, medians in ((name, result.medians(name)) for name in result.runs)
        )
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
