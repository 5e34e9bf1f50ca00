"""Data contracts: pandera schemas for every dataset (messages between services: ``libs.messages``)."""

from libs.schemas.agents import (
    CleanHistoryInputSchema,
    CustomerFeatureSchema,
    DemandFeatureSchema,
    TransactionScoreSchema,
)
from libs.schemas.errors import DataValidationError
from libs.schemas.raw import (
    AnomalyLabelSchema,
    CustomerSchema,
    ProductSchema,
    StoreSchema,
    TransactionSchema,
)
from libs.schemas.references import RAW_REFERENCES, Reference, check_references, key_columns
from libs.schemas.validation import read_parquet, validate_frame, validate_parquet

__all__ = [
    "AnomalyLabelSchema",
    "CleanHistoryInputSchema",
    "CustomerFeatureSchema",
    "CustomerSchema",
    "DataValidationError",
    "DemandFeatureSchema",
    "ProductSchema",
    "RAW_REFERENCES",
    "Reference",
    "StoreSchema",
    "TransactionSchema",
    "TransactionScoreSchema",
    "check_references",
    "key_columns",
    "read_parquet",
    "validate_frame",
    "validate_parquet",
]
