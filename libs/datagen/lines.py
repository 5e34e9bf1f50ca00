"""From visits to transaction lines: which store, which product, how many, at what price and time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from libs.datagen import drift, promotions
from libs.datagen.customers import Customers
from libs.datagen.products import UNITS, Products
from libs.datagen.promotions import Promotions
from libs.datagen.sampling import sample_weighted, sample_within_groups
from libs.datagen.seasons import Period

HOME_STORE_SHARE = 0.8
SEGMENT_UNITS = np.array([0.8, 1.0, 1.3])  # budget, regular, premium
# Per segment (rows) and category (columns, in CATEGORIES order): how drawn each segment is to each
# category. Premium baskets lean to electronics and apparel, so segment shows in basket value.
SEGMENT_TASTE = np.array(
    [
        [1.3, 1.1, 0.25, 0.6],
        [1.0, 1.0, 1.0, 1.0],
        [0.8, 0.9, 2.5, 1.6],
    ]
)
PRICE_NOISE_SIGMA = 0.02
OPENING_HOUR = 7
# Relative footfall per hour from 07:00 to 21:00: a lunchtime and an after-work peak.
HOURLY_FOOTFALL = np.array([0.3, 0.6, 0.9, 1.1, 1.2, 1.4, 1.3, 1.0, 0.9, 1.0, 1.3, 1.4, 1.2, 0.8, 0.4])


@dataclass(frozen=True, eq=False)
class Lines:
    """One entry per transaction, column-wise; indices are 0-based."""

    customer: np.ndarray
    day: np.ndarray
    second: np.ndarray  # seconds since midnight
    store: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    promo: np.ndarray


def choose_stores(
    customer_home: np.ndarray, drifted: np.ndarray, pull: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Mostly the home store; otherwise any store by its pull (a flagship draws extra under drift)."""
    n = len(customer_home)
    away = sample_weighted(pull, n, rng)
    flagship_pull = pull.copy()
    flagship_pull[0] *= drift.FLAGSHIP_PULL
    away = np.where(drifted, sample_weighted(flagship_pull, n, rng), away)
    home_share = np.where(drifted, drift.HOME_STORE_SHARE, HOME_STORE_SHARE)
    return np.where(rng.random(n) < home_share, customer_home, away)


def choose_products(
    store: np.ndarray,
    segment: np.ndarray,
    day: np.ndarray,
    products: Products,
    offers: Promotions,
    period: Period,
    rng: np.random.Generator,
) -> np.ndarray:
    """A product from the day's mix: popularity x category season x segment taste x promotion pull.

    Rows are grouped by (store, segment) so each group samples in one vectorised call.
    """
    seasonal = products.popularity[None, :] * period.category_season()[:, products.category]
    n_stores, n_segments = offers.active.shape[0], len(SEGMENT_TASTE)
    group = store * n_segments + segment
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_stores * n_segments + 1))
    chosen = np.empty(len(store), dtype=np.int64)
    for index in range(n_stores):
        promoted = seasonal * np.where(offers.daily(index, period.n_days), promotions.PICK_BOOST, 1.0)
        for taste in range(n_segments):
            rows = order[bounds[index * n_segments + taste] : bounds[index * n_segments + taste + 1]]
            weights = promoted * SEGMENT_TASTE[taste][products.category]
            chosen[rows] = sample_within_groups(weights, day[rows], rng)
    return chosen


def quantities(
    products: Products,
    product: np.ndarray,
    segment: np.ndarray,
    promo: np.ndarray,
    drifted: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    extra = UNITS[products.category[product]] * SEGMENT_UNITS[segment]
    extra = (
        extra * np.where(promo, promotions.UNITS_BOOST, 1.0) * np.where(drifted, drift.QUANTITY_FACTOR, 1.0)
    )
    return (1 + rng.poisson(extra)).astype(np.int64)


def unit_prices(
    base: np.ndarray, discount: np.ndarray, drifted: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    price = base * (1.0 - discount) * np.where(drifted, drift.PRICE_FACTOR, 1.0)
    price = price * rng.lognormal(0.0, PRICE_NOISE_SIGMA, len(base))
    return np.maximum(np.round(price, 2), 0.01)


def seconds_of_day(n: int, rng: np.random.Generator) -> np.ndarray:
    hour = OPENING_HOUR + sample_weighted(HOURLY_FOOTFALL, n, rng)
    return (hour * 3600 + rng.integers(0, 3600, size=n)).astype(np.int64)


def make_lines(
    customer: np.ndarray,
    day: np.ndarray,
    customers: Customers,
    stores_pull: np.ndarray,
    products: Products,
    offers: Promotions,
    period: Period,
    drift_on: bool,
    rng: np.random.Generator,
) -> Lines:
    drifted = drift.in_drift(day, period, drift_on)
    segment = customers.segment[customer]
    store = choose_stores(customers.home_store[customer], drifted, stores_pull, rng)
    product = choose_products(store, segment, day, products, offers, period, rng)
    promo = offers.on(store, product, day)
    discount = offers.discount_on(store, product, day)
    return Lines(
        customer=customer,
        day=day,
        second=seconds_of_day(len(day), rng),
        store=store,
        product=product,
        quantity=quantities(products, product, segment, promo, drifted, rng),
        unit_price=unit_prices(products.base_price[product], discount, drifted, rng),
        promo=promo,
    )
