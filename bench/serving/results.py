"""The serving benchmark's table, ratios and verdicts on the issue's targets, written via bench/report.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bench.report import ratio, write_results
from bench.serving.measurement import Measurement

BENTOML = "BentoML (agent2 serve.pex)"
MLFLOW = "MLflow models serve"
CEILING = "in-process predict"
COLUMNS = [
    "contender",
    "concurrency",
    "rows/request",
    "requests/s",
    "rows/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "rows/s vs ceiling",
    "BentoML / MLflow",
]


@dataclass(frozen=True)
class Target:
    name: str
    measured: float
    goal: float
    higher_is_better: bool = True

    @property
    def met(self) -> bool:
        return self.measured >= self.goal if self.higher_is_better else self.measured < self.goal

    def verdict(self) -> str:
        if self.met:
            return f"{self.name}: met ({self.measured:g} against {self.goal:g})."
        if self.higher_is_better and not self.measured:
            return f"{self.name}: MISSED (nothing measured)."
        short = self.goal / self.measured if self.higher_is_better else self.measured / self.goal
        return f"{self.name}: MISSED ({self.measured:g} against {self.goal:g}, {short:.1f}x short)."


def find(measurements: Sequence[Measurement], contender: str, concurrency: int | None) -> Measurement | None:
    return next((m for m in measurements if m.contender == contender and m.concurrency == concurrency), None)


def ceiling_of(measurements: Sequence[Measurement]) -> Measurement:
    """The in-process predict at the requests' own batch size (the smallest one measured)."""
    return min((m for m in measurements if m.contender == CEILING), key=lambda m: m.rows_per_request)


def row(measurement: Measurement, ceiling: Measurement, mlflow: Measurement | None) -> dict[str, object]:
    versus_mlflow = ""
    if measurement.contender == BENTOML and mlflow is not None:
        versus_mlflow = f"{ratio(measurement.requests_per_s, mlflow.requests_per_s)}x"
    return {
        "contender": measurement.contender,
        "concurrency": measurement.concurrency if measurement.concurrency is not None else "1 (loop)",
        "rows/request": measurement.rows_per_request,
        "requests/s": round(measurement.requests_per_s, 1),
        "rows/s": round(measurement.rows_per_s),
        "p50 ms": round(measurement.p50_ms, 2),
        "p99 ms": round(measurement.p99_ms, 2),
        "errors": measurement.errors,
        "rows/s vs ceiling": f"{ratio(measurement.rows_per_s, ceiling.rows_per_s)}x",
        "BentoML / MLflow": versus_mlflow,
    }


def targets(measurements: Sequence[Measurement], peak: int, interactive: int) -> list[Target]:
    """The issue's targets: 2x MLflow and half the ceiling at ``peak``, p99 < 50 ms at ``interactive``."""
    ceiling = ceiling_of(measurements)
    found: list[Target] = []
    bento, mlflow = find(measurements, BENTOML, peak), find(measurements, MLFLOW, peak)
    if bento and mlflow:
        found.append(
            Target(
                f"BentoML >= 2x MLflow's throughput at concurrency {peak}",
                ratio(bento.requests_per_s, mlflow.requests_per_s),
                2.0,
            )
        )
    if bento:
        found.append(
            Target(
                f"BentoML >= 0.5x the in-process ceiling at concurrency {peak}",
                ratio(bento.rows_per_s, ceiling.rows_per_s),
                0.5,
            )
        )
    bento = find(measurements, BENTOML, interactive)
    if bento:
        found.append(
            Target(
                f"BentoML p99 < 50 ms at concurrency {interactive}",
                round(bento.p99_ms, 2),
                50.0,
                higher_is_better=False,
            )
        )
    return found


def report(
    measurements: Sequence[Measurement],
    *,
    peak: int,
    interactive: int,
    setup: Sequence[str],
    tool_versions: dict[str, str],
) -> list[Target]:
    """Prints and writes bench/results/serving.{md,json}; returns the targets with their verdicts."""
    ceiling = ceiling_of(measurements)
    rows = [row(m, ceiling, find(measurements, MLFLOW, m.concurrency)) for m in measurements]
    verdicts = targets(measurements, peak, interactive)
    write_results(
        name="serving",
        title="Serving agent2's demand forecaster: BentoML against MLflow and in-process predict",
        columns=COLUMNS,
        rows=rows,
        notes=[*(target.verdict() for target in verdicts), *setup],
        tool_versions=tool_versions,
        extra={
            "measurements": [asdict(m) for m in measurements],
            "targets": [{**asdict(target), "met": target.met} for target in verdicts],
        },
    )
    return verdicts
