"""Data contracts: pandera schemas for every dataset, pydantic messages between services and agents."""

from libs.schemas.agents import (
    CleanHistoryInputSchema,
    CustomerFeatureSchema,
    DemandFeatureSchema,
    TransactionScoreSchema,
)
from libs.schemas.errors import DataValidationError
from libs.schemas.messages import (
    ChurnAssessment,
    CustomerProfile,
    DemandForecast,
    DemandQuery,
    Message,
    ScreeningResult,
    TransactionToScreen,
)
from libs.schemas.raw import (
    AnomalyLabelSchema,
    CustomerSchema,
    ProductSchema,
    StoreSchema,
    TransactionSchema,
)
from libs.schemas.validation import read_parquet, validate_frame, validate_parquet

__all__ = [
    "AnomalyLabelSchema",
    "ChurnAssessment",
    "CleanHistoryInputSchema",
    "CustomerFeatureSchema",
    "CustomerProfile",
    "CustomerSchema",
    "DataValidationError",
    "DemandFeatureSchema",
    "DemandForecast",
    "DemandQuery",
    "Message",
    "ProductSchema",
    "ScreeningResult",
    "StoreSchema",
    "TransactionSchema",
    "TransactionScoreSchema",
    "TransactionToScreen",
    "read_parquet",
    "validate_frame",
    "validate_parquet",
]
