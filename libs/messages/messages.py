"""Requests and responses between services and agents, as pydantic models (BentoML's API IO).

Every message rejects unknown fields, NaN or infinite numbers and values of the wrong JSON type
(strict mode: ``true`` or ``"3"`` is not a number): a misspelt field or a NaN feature fails at the
boundary with the field's name in the error, instead of producing a silent nonsense prediction.
Requests carry the feature row each agent's ``features.sql`` computes; answers name the registered
model and version that gave them, for lineage and rollbacks.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_BATCH = 1000
# Ids go into float64 feature matrices, which hold integers exactly up to 2**53.
MAX_ID = 2**53
# No feature of any agent comes near this; values near float64's limit (1e308) overflow inside the
# models. Refused at validation, so a row that would fail never joins another request's batch.
MAX_FEATURE = 1e15


class Message(BaseModel):
    # protected_namespaces=(): `model_name` and `model_version` are domain fields, not pydantic internals.
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, strict=True, frozen=True, protected_namespaces=()
    )


class ModelAnswer(Message):
    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)


class TransactionFeatures(Message):
    """One transaction as agent1 sees it (agents/agent1/features.sql)."""

    transaction_id: int = Field(ge=1, le=MAX_ID)
    log_amount: float = Field(ge=0.0, le=MAX_FEATURE, description="ln(1 + amount)")
    quantity: float = Field(ge=1.0, le=MAX_FEATURE)
    price_ratio: float = Field(gt=0.0, description="unit price / the product's base price", le=MAX_FEATURE)
    hour_of_day: float = Field(ge=0.0, le=23.0)
    amount_zscore: float = Field(
        ge=-MAX_FEATURE, description="amount against the customer's own mean and spread", le=MAX_FEATURE
    )


class ScreeningResult(ModelAnswer):
    transaction_id: int = Field(ge=1, le=MAX_ID)
    anomaly_score: float = Field(ge=0.0, le=1.0, description="Higher is more anomalous.")
    is_flagged: bool


class DemandFeatures(Message):
    """One store, product and day as agent2 sees it (agents/agent2/features.sql); lags may be unknown."""

    store_id: int = Field(ge=1, le=MAX_ID)
    product_id: int = Field(ge=1, le=MAX_ID)
    lag_1: float | None = Field(default=None, ge=0.0, le=MAX_FEATURE)
    lag_7: float | None = Field(default=None, ge=0.0, le=MAX_FEATURE)
    lag_14: float | None = Field(default=None, ge=0.0, le=MAX_FEATURE)
    rolling_mean_7: float | None = Field(default=None, ge=0.0, le=MAX_FEATURE)
    rolling_mean_28: float | None = Field(default=None, ge=0.0, le=MAX_FEATURE)
    day_of_week: int = Field(ge=0, le=6)
    month: int = Field(ge=1, le=12)
    promo_share: float = Field(ge=0.0, le=1.0)


class DemandForecast(ModelAnswer):
    store_id: int = Field(ge=1, le=MAX_ID)
    product_id: int = Field(ge=1, le=MAX_ID)
    predicted_quantity: float = Field(ge=0.0, le=MAX_FEATURE)


class CustomerFeatures(Message):
    """One customer at a snapshot as agent3 sees it (agents/agent3/features.sql)."""

    customer_id: int = Field(ge=1, le=MAX_ID)
    revenue: float = Field(ge=0.0, le=MAX_FEATURE)
    visits: float = Field(ge=0.0, le=MAX_FEATURE)
    recency_days: float = Field(ge=0.0, le=MAX_FEATURE)
    tenure_days: float = Field(ge=0.0, le=MAX_FEATURE)
    observed_days: float = Field(ge=0.0, le=MAX_FEATURE)
    avg_basket: float = Field(ge=0.0, le=MAX_FEATURE)
    distinct_products: float = Field(ge=0.0, le=MAX_FEATURE)
    visits_last_28d: float = Field(ge=0.0, le=MAX_FEATURE)
    visits_prior_28d: float = Field(ge=0.0, le=MAX_FEATURE)
    is_budget: float = Field(
        ge=0.0,
        le=1.0,
        description="1 for the budget segment, else 0 (not 1 with is_premium)",
        json_schema_extra={"enum": [0, 1]},
    )
    is_premium: float = Field(
        ge=0.0,
        le=1.0,
        description="1 for the premium segment, else 0 (not 1 with is_budget)",
        json_schema_extra={"enum": [0, 1]},
    )

    @field_validator("is_budget", "is_premium")
    @classmethod
    def _a_flag(cls, value: float) -> float:
        """A segment flag is 0 or 1 (features.sql): 0.5 is no customer the model was trained on."""
        if value not in (0.0, 1.0):
            raise ValueError("must be 0 or 1")
        return value

    @model_validator(mode="after")
    def _one_segment(self) -> CustomerFeatures:
        if self.is_budget and self.is_premium:
            raise ValueError("is_budget and is_premium cannot both be 1: a customer has one segment")
        return self


class ChurnAssessment(ModelAnswer):
    customer_id: int = Field(ge=1, le=MAX_ID)
    churn_probability: float = Field(ge=0.0, le=1.0)


TransactionBatch = Annotated[list[TransactionFeatures], Field(min_length=1, max_length=MAX_BATCH)]
DemandBatch = Annotated[list[DemandFeatures], Field(min_length=1, max_length=MAX_BATCH)]
CustomerBatch = Annotated[list[CustomerFeatures], Field(min_length=1, max_length=MAX_BATCH)]
