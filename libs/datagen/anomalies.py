"""Injected anomalies, the ground truth agent1 is evaluated against but never trained on.

Every anomaly is far out on at least one feature an unsupervised detector sees: a huge quantity, or
a price many times (or a fraction) of the product's base price; some also happen at 02:00-04:00,
when stores are otherwise empty.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from libs.datagen.lines import Lines

KIND_SHARES = np.array([0.45, 0.40, 0.15])  # huge quantity, overpriced, underpriced
MIN_HUGE_QUANTITY, MAX_HUGE_QUANTITY = 40, 400
OVERPRICE_RANGE = (4.0, 12.0)  # times the base price
UNDERPRICE_RANGE = (0.05, 0.2)
ODD_HOUR_SHARE = 0.4
ODD_HOURS = (2, 4)  # [02:00, 04:00)


def inject_anomalies(
    lines: Lines, base_price: np.ndarray, rate: float, rng: np.random.Generator
) -> tuple[Lines, np.ndarray]:
    """The lines with ``round(rate * n)`` of them corrupted, and the mask of which ones."""
    n = len(lines.quantity)
    picked = np.sort(rng.choice(n, size=round(rate * n), replace=False))
    kind = np.searchsorted(np.cumsum(KIND_SHARES), rng.random(len(picked)), side="right")
    kind = np.minimum(kind, len(KIND_SHARES) - 1)

    quantity = lines.quantity.copy()
    huge = picked[kind == 0]
    quantity[huge] = rng.integers(MIN_HUGE_QUANTITY, MAX_HUGE_QUANTITY + 1, size=len(huge))

    unit_price = lines.unit_price.copy()
    factor = np.where(
        kind == 1, rng.uniform(*OVERPRICE_RANGE, len(picked)), rng.uniform(*UNDERPRICE_RANGE, len(picked))
    )
    mispriced = kind > 0
    unit_price[picked[mispriced]] = np.maximum(
        np.round(base_price[lines.product[picked[mispriced]]] * factor[mispriced], 2), 0.01
    )

    second = lines.second.copy()
    odd = picked[rng.random(len(picked)) < ODD_HOUR_SHARE]
    second[odd] = rng.integers(ODD_HOURS[0] * 3600, ODD_HOURS[1] * 3600, size=len(odd))

    mask = np.zeros(n, dtype=bool)
    mask[picked] = True
    return dataclasses.replace(lines, quantity=quantity, unit_price=unit_price, second=second), mask
