"""One measured contender at one concurrency: the numbers every part of the benchmark passes around."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    contender: str
    concurrency: int | None  # None for in-process loops, which run one call at a time
    rows_per_request: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    client_cpu_s: float = 0.0  # CPU the load generator (wrk) used: the cores it took from the server

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def client_cores(self) -> float:
        return self.client_cpu_s / self.seconds if self.seconds else 0.0

    @property
    def rows_per_s(self) -> float:
        return self.requests_per_s * self.rows_per_request

    def summary(self) -> str:
        return (
            f"{self.contender}, {self.rows_per_request} rows: {self.requests_per_s:.1f} requests/s, "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, {self.errors} errors"
        )
