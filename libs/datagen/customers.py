"""Customers: who they are, how often they come, and when they leave.

Lifetimes are Weibull with a falling hazard (shape < 1), so new customers churn more than loyal ones
and tenure carries signal. Budget shoppers and rarely-visiting customers leave sooner, so segment
(seen through basket size) and visit frequency carry signal too. Lifetimes scale with the period so
roughly a third of customers churn within it, whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from libs.datagen import drift
from libs.datagen.sampling import sample_weighted
from libs.datagen.seasons import Period
from libs.datagen.vocabulary import SEGMENTS

EXISTING_SHARE = 0.55  # customers who signed up before the period starts
MAX_PRIOR_TENURE_DAYS = 730
SEGMENT_SHARES = np.array([0.35, 0.45, 0.20])  # budget, regular, premium
SEGMENT_VISIT_RATE = np.array([1.0, 1.4, 1.8])
SEGMENT_LIFETIME = np.array([0.6, 1.8, 4.0])  # Weibull scale, in periods
LIFETIME_SHAPE = 0.6
ENGAGEMENT_SIGMA = 0.6
LIFETIME_ENGAGEMENT = 0.5  # engaged customers (frequent visitors) stay longer


@dataclass(frozen=True, eq=False)
class Customers:
    table: pd.DataFrame
    home_store: np.ndarray  # 0-based store index
    segment: np.ndarray  # index into SEGMENTS
    visit_rate: np.ndarray  # relative visits per active day
    first_day: np.ndarray  # first active day index in the period
    churn_day: np.ndarray  # day index the customer leaves; may lie beyond the period

    def end_day(self, n_days: int) -> np.ndarray:
        """One past the last active day index in the period."""
        return np.minimum(self.churn_day, n_days)


def _segments(late_signup: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    usual = np.searchsorted(np.cumsum(SEGMENT_SHARES), rng.random(len(late_signup)), side="right")
    late = np.searchsorted(np.cumsum(drift.LATE_SEGMENT_SHARES), rng.random(len(late_signup)), side="right")
    return np.minimum(np.where(late_signup, late, usual), len(SEGMENTS) - 1)


def _signup_days(n: int, period: Period, drift_on: bool, rng: np.random.Generator) -> np.ndarray:
    existing = rng.random(n) < EXISTING_SHARE
    prior = -rng.integers(1, MAX_PRIOR_TENURE_DAYS + 1, size=n)
    daily = np.ones(period.n_days)
    daily[drift.in_drift(np.arange(period.n_days), period, drift_on)] = drift.SIGNUP_SURGE
    joined = sample_weighted(daily, n, rng)
    return np.where(existing, prior, joined).astype(np.int64)


def _lifetimes(scale: np.ndarray, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Weibull lifetimes conditioned on having survived to ``age`` (inverse of the conditional CDF)."""
    survival = 1.0 - rng.random(len(scale))  # in (0, 1]
    return scale * ((age / scale) ** LIFETIME_SHAPE - np.log(survival)) ** (1.0 / LIFETIME_SHAPE)


def make_customers(
    n_customers: int, store_pull: np.ndarray, period: Period, drift_on: bool, rng: np.random.Generator
) -> Customers:
    signup_day = _signup_days(n_customers, period, drift_on, rng)
    late_signup = drift.in_drift(signup_day, period, drift_on)
    segment = _segments(late_signup, rng)
    home_store = sample_weighted(store_pull, n_customers, rng)
    engagement = rng.lognormal(0.0, ENGAGEMENT_SIGMA, n_customers)
    visit_rate = SEGMENT_VISIT_RATE[segment] * engagement
    scale = SEGMENT_LIFETIME[segment] * period.n_days * engagement**LIFETIME_ENGAGEMENT
    first_day = np.maximum(signup_day, 0)
    lifetime = _lifetimes(scale, (first_day - signup_day).astype(np.float64), rng)
    churn_day = np.maximum(signup_day + np.ceil(lifetime).astype(np.int64), first_day + 1)

    start = period.start.astype("datetime64[ns]")
    one_day = np.timedelta64(1, "D").astype("timedelta64[ns]")
    churned = churn_day < period.n_days
    table = pd.DataFrame(
        {
            "customer_id": np.arange(1, n_customers + 1, dtype=np.int64),
            "home_store_id": (home_store + 1).astype(np.int64),
            "segment": pd.array(np.asarray(SEGMENTS)[segment], dtype="str"),
            "signup_date": start + signup_day * one_day,
            "churn_date": np.where(churned, start + churn_day * one_day, np.datetime64("NaT", "ns")),
        }
    )
    return Customers(
        table=table,
        home_store=home_store,
        segment=segment,
        visit_rate=visit_rate,
        first_day=first_day,
        churn_day=churn_day,
    )
