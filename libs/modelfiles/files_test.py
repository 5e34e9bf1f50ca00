from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from libs.features import FormulaTransformer
from libs.modelfiles import UntrustedModelError, load_model, save_model


def test_project_pipeline_round_trips_with_identical_predictions(tmp_path: Path) -> None:
    frame = pd.DataFrame({"revenue": np.arange(1.0, 41.0), "visits": np.tile([1.0, 2.0, 4.0, 5.0], 10)})
    target = (frame["revenue"] > 20).to_numpy()
    model = Pipeline(
        [
            ("formulas", FormulaTransformer(["revenue_per_visit = revenue / visits"])),
            ("clf", LogisticRegression()),
        ]
    ).fit(frame, target)

    path = save_model(model, tmp_path / "model.skops")
    loaded = load_model(path)

    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))  # type: ignore[attr-defined]


def test_model_naming_a_foreign_type_is_refused(tmp_path: Path) -> None:
    model = LogisticRegression()
    model.foreign_ = Fraction(1, 3)
    path = save_model(model, tmp_path / "model.skops")
    with pytest.raises(UntrustedModelError, match="fractions.Fraction"):
        load_model(path)


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "absent.skops")
