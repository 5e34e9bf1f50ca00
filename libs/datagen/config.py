"""The knobs of a generated world; a config and its seed fully determine every byte written."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MAX_ANOMALY_RATE = 0.5


@dataclass(frozen=True)
class WorldConfig:
    """``n_transactions`` is the size knob: 20k for CI, 1M and 10M for benchmarks.

    ``drift`` shifts prices, basket sizes, store and customer mix in the last third of the period, so
    monitoring has something real to detect.
    """

    seed: int = 42
    n_stores: int = 5
    n_products: int = 20
    n_customers: int = 400
    n_transactions: int = 20_000
    start_date: str = "2024-01-01"
    n_days: int = 364
    anomaly_rate: float = 0.01
    drift: bool = False

    def __post_init__(self) -> None:
        minimums = {
            "seed": 0,
            "n_stores": 1,
            "n_products": 1,
            "n_customers": 1,
            "n_transactions": 1,
            "n_days": 3,
        }
        for name, minimum in minimums.items():
            value = getattr(self, name)
            # bool is an int subclass; `n_days: true` in YAML is a typo, not 1.
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {value}")
        if not isinstance(self.drift, bool):
            raise ValueError(f"drift must be true or false, got {self.drift!r}")
        if isinstance(self.anomaly_rate, bool) or not isinstance(self.anomaly_rate, int | float):
            raise ValueError(f"anomaly_rate must be a number, got {self.anomaly_rate!r}")
        if not 0.0 <= self.anomaly_rate <= MAX_ANOMALY_RATE:
            raise ValueError(f"anomaly_rate must be in [0, {MAX_ANOMALY_RATE}], got {self.anomaly_rate}")
        self.start_day()

    def start_day(self) -> np.datetime64:
        """The first day of the period, at day resolution."""
        try:
            return np.datetime64(dt.date.fromisoformat(self.start_date), "D")
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"start_date must be an ISO date like 2024-01-01, got {self.start_date!r}"
            ) from error

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> WorldConfig:
        """Builds a config from a params mapping, naming unknown keys instead of ignoring a typo."""
        allowed = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ValueError(f"unknown world setting(s) {unknown}; allowed: {allowed}")
        kwargs = dict(values)
        start = kwargs.get("start_date")
        if isinstance(start, dt.date) and not isinstance(start, dt.datetime):
            kwargs["start_date"] = start.isoformat()  # YAML reads 2024-01-01 as a date
        return cls(**kwargs)  # type: ignore[arg-type]
