"""The whole retail world from one config: five tables, identical for identical configs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from libs.datagen.anomalies import inject_anomalies
from libs.datagen.config import WorldConfig
from libs.datagen.customers import make_customers
from libs.datagen.lines import Lines, make_lines
from libs.datagen.products import make_products
from libs.datagen.promotions import make_promotions
from libs.datagen.seasons import SECONDS_PER_DAY, Period
from libs.datagen.stores import make_stores
from libs.datagen.visits import sample_visits

# One independent random stream per component, so e.g. a bigger n_transactions leaves the stores,
# products and customers unchanged.
STREAMS = ("stores", "products", "customers", "promotions", "visits", "lines", "anomalies")


@dataclass(frozen=True, eq=False)
class World:
    """The generated tables; ``anomaly_labels`` is for evaluation only and never joins training data."""

    stores: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame
    transactions: pd.DataFrame
    anomaly_labels: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


def _transactions(lines: Lines, is_anomaly: np.ndarray, period: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sorted by time, numbered 1..n in that order; the labels follow their rows."""
    offset_ns = (lines.day * SECONDS_PER_DAY + lines.second) * 1_000_000_000
    order = np.argsort(offset_ns, kind="stable")
    transaction_id = np.arange(1, len(order) + 1, dtype=np.int64)
    quantity = lines.quantity[order]
    unit_price = lines.unit_price[order]
    transactions = pd.DataFrame(
        {
            "transaction_id": transaction_id,
            "ts": period.start.astype("datetime64[ns]") + offset_ns[order].astype("timedelta64[ns]"),
            "customer_id": (lines.customer[order] + 1).astype(np.int64),
            "store_id": (lines.store[order] + 1).astype(np.int64),
            "product_id": (lines.product[order] + 1).astype(np.int64),
            "quantity": quantity.astype(np.int64),
            "unit_price": unit_price.astype(np.float64),
            "promo": lines.promo[order].astype(bool),
            "amount": np.round(quantity * unit_price, 2),
        },
        copy=False,  # the columns are fresh arrays; copying 10M-row blocks costs seconds and GBs
    )
    labels = pd.DataFrame({"transaction_id": transaction_id, "is_anomaly": is_anomaly[order]})
    return transactions, labels


def generate_world(config: WorldConfig | None = None) -> World:
    """Memory and time grow linearly with ``n_transactions``; nothing loops per row in Python."""
    config = config or WorldConfig()
    rng = dict(zip(STREAMS, np.random.default_rng(config.seed).spawn(len(STREAMS)), strict=True))
    period = Period(start=config.start_day(), n_days=config.n_days)

    stores = make_stores(config.n_stores, rng["stores"])
    products = make_products(config.n_products, rng["products"])
    customers = make_customers(config.n_customers, stores.pull, period, config.drift, rng["customers"])
    offers = make_promotions(config.n_stores, config.n_products, config.n_days, rng["promotions"])

    customer, day = sample_visits(customers, period.traffic(), config.n_transactions, rng["visits"])
    lines = make_lines(
        customer, day, customers, stores.pull, products, offers, period, config.drift, rng["lines"]
    )
    lines, is_anomaly = inject_anomalies(lines, products.base_price, config.anomaly_rate, rng["anomalies"])
    transactions, labels = _transactions(lines, is_anomaly, period)
    return World(
        stores=stores.table,
        products=products.table,
        customers=customers.table,
        transactions=transactions,
        anomaly_labels=labels,
    )
