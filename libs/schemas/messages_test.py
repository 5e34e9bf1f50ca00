import datetime as dt
import math

import pytest
from pydantic import BaseModel, ValidationError

from libs.schemas import (
    ChurnAssessment,
    CustomerProfile,
    DemandForecast,
    DemandQuery,
    ScreeningResult,
    TransactionToScreen,
)

VALID: dict[type[BaseModel], dict[str, object]] = {
    TransactionToScreen: {
        "transaction_id": 1,
        "ts": "2024-05-01T10:15:00",
        "customer_id": 2,
        "store_id": 3,
        "product_id": 4,
        "quantity": 2,
        "unit_price": 3.5,
        "promo": False,
    },
    ScreeningResult: {
        "transaction_id": 1,
        "anomaly_score": 0.97,
        "is_flagged": True,
        "model_name": "agent1-transaction-sentinel",
        "model_version": "4",
    },
    DemandQuery: {"store_id": 1, "product_id": 2, "date": "2024-05-02"},
    DemandForecast: {
        "store_id": 1,
        "product_id": 2,
        "date": "2024-05-02",
        "predicted_quantity": 7.5,
        "model_name": "agent2-demand-forecaster",
        "model_version": "1",
    },
    CustomerProfile: {
        "customer_id": 9,
        "revenue": 120.0,
        "visits": 10,
        "recency_days": 4,
        "tenure_days": 300,
        "avg_basket": 12.0,
        "distinct_products": 5,
    },
    ChurnAssessment: {
        "customer_id": 9,
        "churn_probability": 0.2,
        "model_name": "agent3-churn-classifier",
        "model_version": "2",
    },
}


def _error_fields(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in detail["loc"]) for detail in error.errors()}


@pytest.mark.parametrize("model", list(VALID))
def test_valid_messages_round_trip_through_json(model: type[BaseModel]) -> None:
    message = model.model_validate(VALID[model])
    assert model.model_validate_json(message.model_dump_json()) == message


def test_fields_parse_to_their_types() -> None:
    screened = TransactionToScreen.model_validate(VALID[TransactionToScreen])
    assert screened.ts == dt.datetime(2024, 5, 1, 10, 15)
    assert DemandQuery.model_validate(VALID[DemandQuery]).date == dt.date(2024, 5, 2)
    assert CustomerProfile.model_validate(VALID[CustomerProfile]).visits == 10.0


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (TransactionToScreen, "unit_price", math.nan),
        (TransactionToScreen, "unit_price", math.inf),
        (ScreeningResult, "anomaly_score", math.nan),
        (DemandForecast, "predicted_quantity", math.inf),
        (CustomerProfile, "revenue", math.nan),
        (ChurnAssessment, "churn_probability", math.nan),
    ],
)
def test_nan_and_infinity_are_rejected(model: type[BaseModel], field: str, value: float) -> None:
    with pytest.raises(ValidationError) as error:
        model.model_validate({**VALID[model], field: value})
    assert _error_fields(error.value) == {field}


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (TransactionToScreen, "quantity", -1),
        (TransactionToScreen, "quantity", 0),
        (TransactionToScreen, "unit_price", 0.0),
        (TransactionToScreen, "store_id", 0),
        (ScreeningResult, "anomaly_score", 1.01),
        (DemandForecast, "predicted_quantity", -0.5),
        (CustomerProfile, "recency_days", -1),
        (CustomerProfile, "visits", -3),
        (ChurnAssessment, "churn_probability", 1.2),
        (ChurnAssessment, "model_version", ""),
    ],
)
def test_out_of_range_values_are_rejected(model: type[BaseModel], field: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        model.model_validate({**VALID[model], field: value})
    assert _error_fields(error.value) == {field}


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (TransactionToScreen, "quantity", "two"),
        (TransactionToScreen, "quantity", 2.5),
        (TransactionToScreen, "ts", "yesterday"),
        (TransactionToScreen, "promo", "perhaps"),
        (DemandQuery, "date", "2024-13-40"),
        (CustomerProfile, "customer_id", [9]),
        (ScreeningResult, "is_flagged", {"value": True}),
    ],
)
def test_wrong_types_are_rejected(model: type[BaseModel], field: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        model.model_validate({**VALID[model], field: value})
    assert _error_fields(error.value) == {field}


@pytest.mark.parametrize("model", list(VALID))
def test_missing_fields_are_named(model: type[BaseModel]) -> None:
    field = next(iter(VALID[model]))
    payload = {name: value for name, value in VALID[model].items() if name != field}
    with pytest.raises(ValidationError) as error:
        model.model_validate(payload)
    assert _error_fields(error.value) == {field}
    assert error.value.errors()[0]["type"] == "missing"


@pytest.mark.parametrize("model", list(VALID))
def test_unknown_fields_are_rejected(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError) as error:
        model.model_validate({**VALID[model], "quantitty": 3})
    assert _error_fields(error.value) == {"quantitty"}
    assert error.value.errors()[0]["type"] == "extra_forbidden"


def test_messages_are_immutable() -> None:
    result = ScreeningResult.model_validate(VALID[ScreeningResult])
    with pytest.raises(ValidationError):
        result.is_flagged = False
