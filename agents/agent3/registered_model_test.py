"""agent3's registered model loads and predicts outside this repository (libs/tracking/standalone.py)."""

from pathlib import Path

import pytest

from agents.agent3.tiny_champion import MODEL_NAME, tiny_customers, train_tiny_champion
from libs.tracking.standalone import predict_outside_checkout


def test_registered_model_loads_and_predicts_without_the_repository(tmp_path: Path) -> None:
    model = train_tiny_champion(tmp_path / "bundle").model
    example = tiny_customers()[0].head(5)
    predictions = predict_outside_checkout(model, MODEL_NAME, example, tmp_path)
    expected = [float(value) for value in model.predict(example)]  # type: ignore[attr-defined]
    assert predictions == pytest.approx(expected)
