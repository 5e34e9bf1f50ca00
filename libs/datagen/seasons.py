"""The period's days and the seasonal shape of demand over them.

Shoppers come more on weekends, in the weeks before Christmas and a little in midsummer; some
categories swing harder than others (electronics in December, apparel in summer). Forecasters and
monitors downstream are expected to find exactly these patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from libs.datagen.vocabulary import CATEGORIES

# Monday .. Sunday: Saturday is the busiest day, Sunday close behind.
WEEKDAY_FACTOR = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.45, 1.3])
CHRISTMAS_DAY_OF_YEAR = 352  # mid-December peak
SUMMER_DAY_OF_YEAR = 196  # mid-July bump
# Per category: (December amplitude, summer amplitude) of its share of baskets.
CATEGORY_SEASON = {
    "grocery": (0.2, 0.0),
    "household": (0.0, 0.0),
    "electronics": (1.2, 0.0),
    "apparel": (0.4, 0.6),
}
SECONDS_PER_DAY = 86_400


def _bump(day_of_year: np.ndarray, centre: int, width: float) -> np.ndarray:
    """A Gaussian bump around ``centre`` that wraps at the year's end, peaking at 1."""
    distance = np.abs(day_of_year - centre)
    distance = np.minimum(distance, 365 - distance)
    return np.exp(-0.5 * (distance / width) ** 2)


@dataclass(frozen=True)
class Period:
    """``n_days`` days from ``start``; the last third is where drift, when on, takes hold."""

    start: np.datetime64
    n_days: int

    @property
    def drift_start(self) -> int:
        return self.n_days - self.n_days // 3

    def days(self) -> np.ndarray:
        return self.start + np.arange(self.n_days)

    def day_of_week(self) -> np.ndarray:
        """0 = Monday; 1970-01-01 was a Thursday."""
        return (self.days().astype(np.int64) + 3) % 7

    def day_of_year(self) -> np.ndarray:
        days = self.days()
        return (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1

    def traffic(self) -> np.ndarray:
        """Relative number of store visits per day: weekly times yearly seasonality."""
        day_of_year = self.day_of_year()
        yearly = (
            1.0
            + 0.6 * _bump(day_of_year, CHRISTMAS_DAY_OF_YEAR, 10.0)
            + 0.2 * _bump(day_of_year, SUMMER_DAY_OF_YEAR, 20.0)
        )
        return WEEKDAY_FACTOR[self.day_of_week()] * yearly

    def category_season(self) -> np.ndarray:
        """(n_days, n_categories) multipliers on each category's share of baskets, in CATEGORIES order."""
        day_of_year = self.day_of_year()
        christmas = _bump(day_of_year, CHRISTMAS_DAY_OF_YEAR, 12.0)
        summer = _bump(day_of_year, SUMMER_DAY_OF_YEAR, 25.0)
        columns = [
            1.0 + CATEGORY_SEASON[name][0] * christmas + CATEGORY_SEASON[name][1] * summer
            for name in CATEGORIES
        ]
        return np.stack(columns, axis=1)
