"""Products: category sets the price level, how often it lands in a basket and how many units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from libs.datagen.vocabulary import CATEGORIES

# Per category, in CATEGORIES order.
CATEGORY_SHARE = np.array([0.40, 0.25, 0.15, 0.20])  # of the catalogue
MEDIAN_PRICE = np.array([4.0, 12.0, 180.0, 35.0])
PRICE_SPREAD = np.array([0.5, 0.5, 0.6, 0.4])  # lognormal sigma within the category
BASKET_FREQUENCY = np.array([3.0, 1.5, 0.5, 1.0])  # how often a basket line is from the category
UNITS = np.array([1.5, 0.8, 0.15, 0.6])  # mean extra units per line beyond the first
MIN_PRICE, MAX_PRICE = 0.5, 3000.0


@dataclass(frozen=True, eq=False)
class Products:
    table: pd.DataFrame
    category: np.ndarray  # index into CATEGORIES, per product (0-based)
    base_price: np.ndarray
    popularity: np.ndarray  # relative chance of being picked, before seasons and promotions


def _categories(n_products: int, rng: np.random.Generator) -> np.ndarray:
    """One product per category first (when there is room), the rest by catalogue share, shuffled."""
    guaranteed = np.arange(min(n_products, len(CATEGORIES)))
    rest = rng.choice(len(CATEGORIES), size=n_products - len(guaranteed), p=CATEGORY_SHARE)
    return rng.permutation(np.concatenate([guaranteed, rest]))


def make_products(n_products: int, rng: np.random.Generator) -> Products:
    category = _categories(n_products, rng)
    noise = rng.lognormal(0.0, 1.0, n_products)
    base_price = np.round(
        np.clip(MEDIAN_PRICE[category] * noise ** PRICE_SPREAD[category], MIN_PRICE, MAX_PRICE), 2
    )
    popularity = BASKET_FREQUENCY[category] * rng.lognormal(0.0, 0.6, n_products)
    table = pd.DataFrame(
        {
            "product_id": np.arange(1, n_products + 1, dtype=np.int64),
            "category": pd.array(np.asarray(CATEGORIES)[category], dtype="str"),
            "base_price": base_price.astype(np.float64),
        }
    )
    return Products(table=table, category=category, base_price=base_price, popularity=popularity)
