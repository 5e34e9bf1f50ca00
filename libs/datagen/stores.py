"""Stores: where customers live and shop; bigger stores pull more customers and more visits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from libs.datagen.vocabulary import REGIONS

MEDIAN_SIZE_SQM = 1500.0
MIN_SIZE_SQM = 150.0


@dataclass(frozen=True, eq=False)
class Stores:
    table: pd.DataFrame
    pull: np.ndarray  # relative attraction of each store (0-based), from its floor space


def make_stores(n_stores: int, rng: np.random.Generator) -> Stores:
    # Regions are dealt round-robin before shuffling, so four or more stores cover every region.
    region = rng.permutation(np.resize(np.arange(len(REGIONS)), n_stores))
    size = np.maximum(np.round(MEDIAN_SIZE_SQM * rng.lognormal(0.0, 0.45, n_stores), 1), MIN_SIZE_SQM)
    table = pd.DataFrame(
        {
            "store_id": np.arange(1, n_stores + 1, dtype=np.int64),
            "region": pd.array(np.asarray(REGIONS)[region], dtype="str"),
            "size_sqm": size.astype(np.float64),
        }
    )
    return Stores(table=table, pull=np.sqrt(size))
