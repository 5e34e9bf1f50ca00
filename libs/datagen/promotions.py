"""Promotions: a store runs a product on promotion for a whole week at a time.

A promoted product is picked more often, sold in bigger quantities and at a 10-30% discount, which
is what a demand forecaster's ``promo_share`` feature is there to pick up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEEK_PROBABILITY = 0.10  # chance a (store, product) pair is on promotion in a given week
MIN_DISCOUNT, MAX_DISCOUNT = 0.10, 0.30
PICK_BOOST = 2.5  # a promoted product is this much likelier to be picked
UNITS_BOOST = 1.8  # and sells this many times the usual extra units


@dataclass(frozen=True, eq=False)
class Promotions:
    active: np.ndarray  # (stores, products, weeks) bool
    discount: np.ndarray  # (stores, products, weeks) fraction off; 0 when not active

    def on(self, store: np.ndarray, product: np.ndarray, day: np.ndarray) -> np.ndarray:
        return self.active[store, product, day // 7]

    def discount_on(self, store: np.ndarray, product: np.ndarray, day: np.ndarray) -> np.ndarray:
        return self.discount[store, product, day // 7]

    def daily(self, store: int, n_days: int) -> np.ndarray:
        """(days, products) bool: which products the store has on promotion each day."""
        return self.active[store][:, np.arange(n_days) // 7].T


def make_promotions(n_stores: int, n_products: int, n_days: int, rng: np.random.Generator) -> Promotions:
    shape = (n_stores, n_products, -(-n_days // 7))
    active = rng.random(shape) < WEEK_PROBABILITY
    discount = np.where(active, rng.uniform(MIN_DISCOUNT, MAX_DISCOUNT, shape), 0.0)
    return Promotions(active=active, discount=discount)
