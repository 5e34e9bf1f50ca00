"""The serving benchmark's table, ratios and verdicts on the issue's targets, written via bench/report.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bench.report import ratio, write_results
from bench.serving.measurement import Measurement

BENTOML = "BentoML (agent2 serve.pex)"
FASTAPI = "FastAPI + uvicorn (hand-written)"
PLAIN = "BentoML, no batching (quickstart)"
MLFLOW = "MLflow models serve"
CEILING = "equal-resource ceiling (handler in process)"
CONTENDERS = (FASTAPI, PLAIN, MLFLOW)
COLUMNS = [
    "contender",
    "concurrency",
    "rows/request",
    "requests/s",
    "rows/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "wrk cores",
    "service / this",
    "vs ceiling",
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


def row(measurement: Measurement, measurements: Sequence[Measurement]) -> dict[str, object]:
    service = find(measurements, BENTOML, measurement.concurrency)
    ceiling = find(measurements, CEILING, measurement.concurrency)
    versus_service = ""
    if service is not None and measurement.contender in CONTENDERS and measurement.requests_per_s:
        versus_service = f"{ratio(service.requests_per_s, measurement.requests_per_s)}x"
    versus_ceiling = ""
    if ceiling is not None and measurement.contender != CEILING:
        versus_ceiling = f"{ratio(measurement.rows_per_s, ceiling.rows_per_s)}x"
    return {
        "contender": measurement.contender,
        "concurrency": measurement.concurrency if measurement.concurrency is not None else "1 (loop)",
        "rows/request": measurement.rows_per_request,
        "requests/s": round(measurement.requests_per_s, 1),
        "rows/s": round(measurement.rows_per_s),
        "p50 ms": round(measurement.p50_ms, 2),
        "p99 ms": round(measurement.p99_ms, 2),
        "errors": measurement.errors,
        "wrk cores": round(measurement.client_cores, 2) if measurement.client_cpu_s else "",
        "service / this": versus_service,
        "vs ceiling": versus_ceiling,
    }


def targets(measurements: Sequence[Measurement], peak: int, interactive: int) -> list[Target]:
    """The issue's targets: ahead of every contender at ``interactive`` and ``peak``, half the
    equal-resource ceiling at ``peak``, p99 < 50 ms at ``interactive``."""
    found: list[Target] = []
    for level in sorted({interactive, peak}):
        service = find(measurements, BENTOML, level)
        for contender in CONTENDERS:
            other = find(measurements, contender, level)
            if service and other and other.requests_per_s:
                found.append(
                    Target(
                        f"service ahead of {contender} at concurrency {level} (requests/s ratio > 1)",
                        ratio(service.requests_per_s, other.requests_per_s),
                        1.0 + 1e-9,
                    )
                )
    service, ceiling = find(measurements, BENTOML, peak), find(measurements, CEILING, peak)
    if service and ceiling:
        found.append(
            Target(
                f"service >= 0.5x the equal-resource ceiling at concurrency {peak}",
                ratio(service.rows_per_s, ceiling.rows_per_s),
                0.5,
            )
        )
    service = find(measurements, BENTOML, interactive)
    if service:
        found.append(
            Target(
                f"service p99 < 50 ms at concurrency {interactive}",
                round(service.p99_ms, 2),
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
    rows = [row(m, measurements) for m in measurements]
    verdicts = targets(measurements, peak, interactive)
    write_results(
        name="serving",
        title="Serving agent2's demand forecaster: the service against FastAPI, plain BentoML, MLflow"
        " and an equal-resource ceiling",
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
