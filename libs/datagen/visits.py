"""When each customer shows up: the (customer, day) of every transaction.

Visits follow each customer's rate, the store traffic seasons, and a fade in the weeks before the
customer churns (fewer visits, then none), which is what makes churn learnable from recency and
frequency. Sampling is by thinning: propose uniformly inside each customer's active window, keep a
proposal with probability traffic x fade, repeat for the shortfall. Each round is vectorised, and a
round or two usually suffices.
"""

from __future__ import annotations

import numpy as np

from libs.datagen.customers import Customers
from libs.datagen.sampling import sample_weighted

FADE_DAYS = 56  # visits start thinning out eight weeks before churn
FADE_FLOOR = 0.03  # relative visit rate on the last day before churn
FADE_POWER = 2.0  # > 1: slow at first, then steep, as a customer drifts away
MIN_ACCEPTANCE = 0.01


def fade(days_to_churn: np.ndarray) -> np.ndarray:
    """Relative visit rate given the days left before churn: 1 until the fade starts, then falling."""
    return FADE_FLOOR + (1.0 - FADE_FLOOR) * np.clip(days_to_churn / FADE_DAYS, 0.0, 1.0) ** FADE_POWER


def sample_visits(
    customers: Customers, traffic: np.ndarray, n_visits: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n_visits`` (customer index, day index) pairs; days lie in each customer's [first, churn) window."""
    first = customers.first_day
    length = customers.end_day(len(traffic)) - first
    weight = customers.visit_rate * length
    ceiling = float(traffic.max())
    acceptance = float(traffic.mean()) / ceiling
    kept_customers: list[np.ndarray] = []
    kept_days: list[np.ndarray] = []
    remaining = n_visits
    while remaining > 0:
        proposals = int(remaining / max(acceptance, MIN_ACCEPTANCE) * 1.1) + 64
        customer = sample_weighted(weight, proposals, rng)
        day = first[customer] + (rng.random(proposals) * length[customer]).astype(np.int64)
        keep_probability = traffic[day] / ceiling * fade(customers.churn_day[customer] - day)
        keep = rng.random(proposals) < keep_probability
        acceptance = float(keep.mean())
        kept_customers.append(customer[keep][:remaining])
        kept_days.append(day[keep][:remaining])
        remaining -= len(kept_customers[-1])
    return np.concatenate(kept_customers), np.concatenate(kept_days)
