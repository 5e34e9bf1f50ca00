"""What changes in the last third of the period when drift is switched on.

Each shift is one a monitor should catch by PSI or KS on a familiar column: prices (``unit_price``),
basket sizes (``quantity``), where people shop (``store_id``) and who the shoppers are (new sign-ups
skew to the budget segment and arrive faster).
"""

from __future__ import annotations

import numpy as np

from libs.datagen.seasons import Period

PRICE_FACTOR = 1.25
QUANTITY_FACTOR = 1.5
HOME_STORE_SHARE = 0.55  # down from the usual share: customers wander more
FLAGSHIP_PULL = 5.0  # store 1 draws five times its usual share of away visits
SIGNUP_SURGE = 2.0  # sign-up rate per day in the drift window, relative to before
LATE_SEGMENT_SHARES = np.array([0.65, 0.25, 0.10])  # budget, regular, premium


def in_drift(day: np.ndarray, period: Period, enabled: bool) -> np.ndarray:
    """Which of the given day indices fall in the drifted window (none when drift is off)."""
    if not enabled:
        return np.zeros(np.shape(day), dtype=bool)
    return np.asarray(day) >= period.drift_start
