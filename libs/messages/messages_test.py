import json
import math

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from libs.messages import (
    MAX_BATCH,
    ChurnAssessment,
    CustomerFeatures,
    DemandBatch,
    DemandFeatures,
    DemandForecast,
    ScreeningResult,
    TransactionFeatures,
)

VALID: dict[type[BaseModel], dict[str, object]] = {
    TransactionFeatures: {
        "transaction_id": 1,
        "log_amount": 2.3,
        "quantity": 2,
        "price_ratio": 1.1,
        "hour_of_day": 14,
        "amount_zscore": -0.4,
    },
    ScreeningResult: {
        "transaction_id": 1,
        "anomaly_score": 0.97,
        "is_flagged": True,
        "model_name": "agent1-transaction-sentinel",
        "model_version": "4",
    },
    DemandFeatures: {
        "store_id": 1,
        "product_id": 2,
        "lag_1": 3.0,
        "lag_7": None,
        "day_of_week": 2,
        "month": 5,
        "promo_share": 0.25,
    },
    DemandForecast: {
        "store_id": 1,
        "product_id": 2,
        "predicted_quantity": 7.5,
        "model_name": "agent2-demand-forecaster",
        "model_version": "1",
    },
    CustomerFeatures: {
        "customer_id": 9,
        "revenue": 120.0,
        "visits": 10,
        "recency_days": 4,
        "tenure_days": 300,
        "observed_days": 200,
        "avg_basket": 12.0,
        "distinct_products": 5,
        "visits_last_28d": 2,
        "visits_prior_28d": 3,
        "is_budget": 0,
        "is_premium": 1,
    },
    ChurnAssessment: {
        "customer_id": 9,
        "churn_probability": 0.2,
        "model_name": "agent3-churn-classifier",
        "model_version": "2",
    },
}


@pytest.mark.parametrize("message", list(VALID), ids=lambda message: message.__name__)
def test_valid_messages_round_trip_through_json(message: type[BaseModel]) -> None:
    parsed = message.model_validate(VALID[message])
    assert message.model_validate_json(parsed.model_dump_json()) == parsed


def _error_fields(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in detail["loc"]) for detail in error.errors()}


@pytest.mark.parametrize("message", list(VALID), ids=lambda message: message.__name__)
def test_unknown_and_missing_fields_are_named(message: type[BaseModel]) -> None:
    first = next(iter(VALID[message]))
    payload = {**VALID[message], "surprise": 1}
    del payload[first]
    with pytest.raises(ValidationError) as error:
        message.model_validate(payload)
    assert {"surprise", first} <= _error_fields(error.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_and_infinity_are_refused_with_the_field_named(bad: float) -> None:
    with pytest.raises(ValidationError) as error:
        TransactionFeatures.model_validate({**VALID[TransactionFeatures], "amount_zscore": bad})
    assert _error_fields(error.value) == {"amount_zscore"}


def test_nan_in_json_is_refused_too() -> None:
    payload = json.dumps({**VALID[CustomerFeatures], "revenue": math.nan})
    assert "NaN" in payload
    with pytest.raises(ValidationError) as error:
        CustomerFeatures.model_validate_json(payload)
    assert "revenue" in str(error.value)


def test_wrong_type_and_out_of_range_values_are_named() -> None:
    with pytest.raises(ValidationError) as error:
        DemandFeatures.model_validate({**VALID[DemandFeatures], "store_id": "first", "month": 13})
    assert _error_fields(error.value) == {"store_id", "month"}


@pytest.mark.parametrize("bad", [True, "3", "3.5"])
def test_values_of_the_wrong_json_type_are_not_coerced(bad: object) -> None:
    payload = json.dumps({**VALID[DemandFeatures], "lag_7": bad, "store_id": bad})
    with pytest.raises(ValidationError) as error:
        DemandFeatures.model_validate_json(payload)
    assert _error_fields(error.value) == {"lag_7", "store_id"}


def test_whole_numbers_still_pass_as_floats() -> None:
    assert DemandFeatures.model_validate_json(json.dumps({**VALID[DemandFeatures], "lag_7": 4})).lag_7 == 4.0


def test_batches_must_hold_between_one_and_max_rows() -> None:
    batch = TypeAdapter(DemandBatch)
    row = VALID[DemandFeatures]
    assert len(batch.validate_python([row])) == 1
    for size in (0, MAX_BATCH + 1):
        with pytest.raises(ValidationError, match="at least 1|at most 1000"):
            batch.validate_python([row] * size)


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        ({"is_budget": 0.5}, "is_budget\n  Value error, must be 0 or 1"),
        ({"is_premium": 0.999}, "is_premium\n  Value error, must be 0 or 1"),
        ({"is_budget": 1, "is_premium": 1}, "is_budget and is_premium cannot both be 1"),
    ],
)
def test_segment_flags_are_a_customer_the_model_knows(flags: dict[str, float], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        CustomerFeatures.model_validate({**VALID[CustomerFeatures], **flags})
    CustomerFeatures.model_validate({**VALID[CustomerFeatures], "is_budget": 0, "is_premium": 0})
