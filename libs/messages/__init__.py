"""Typed messages between services and agents; pydantic only, so every service can import them."""

from libs.messages.messages import (
    MAX_BATCH,
    MAX_FEATURE,
    MAX_ID,
    ChurnAssessment,
    CustomerBatch,
    CustomerFeatures,
    DemandBatch,
    DemandFeatures,
    DemandForecast,
    Message,
    ModelAnswer,
    ScreeningResult,
    TransactionBatch,
    TransactionFeatures,
)

__all__ = [
    "MAX_BATCH",
    "MAX_FEATURE",
    "MAX_ID",
    "ChurnAssessment",
    "CustomerBatch",
    "CustomerFeatures",
    "DemandBatch",
    "DemandFeatures",
    "DemandForecast",
    "Message",
    "ModelAnswer",
    "ScreeningResult",
    "TransactionBatch",
    "TransactionFeatures",
]
