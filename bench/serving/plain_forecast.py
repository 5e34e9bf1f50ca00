"""What both plain contenders do per request: one predict on the rows, answers naming the model.

The FastAPI endpoint and the unbatched BentoML service differ only in the framework around it, so
the work itself is written once and the comparison measures the frameworks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.agent2.model import FEATURES
from libs.messages import DemandFeatures, DemandForecast
from libs.modelfiles.bundle import Champion
from libs.serving.features import column_matrix


def forecast(champion: Champion, rows: Sequence[DemandFeatures]) -> list[DemandForecast]:
    """agent2's answers for ``rows``, as its service gives them (quantities clipped at zero)."""
    matrix = column_matrix(rows, FEATURES)
    quantities = np.clip(champion.model.predict(matrix), 0.0, None)  # type: ignore[attr-defined]
    return [
        DemandForecast(
            store_id=row.store_id,
            product_id=row.product_id,
            predicted_quantity=float(quantity),
            model_name=champion.model_name,
            model_version=champion.model_version,
        )
        for row, quantity in zip(rows, quantities, strict=True)
    ]
