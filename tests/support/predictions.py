"""Reading back what a served agent logged, for its tests (DuckDB, so agent resolves only)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from libs.monitoring.prediction_reader import logged_inputs, read_predictions
from tests.support.serving import wait_for


def logged_answers(scratch: Path, agent: str, *, at_least: int, timeout_s: float = 30) -> pd.DataFrame:
    """The prediction log of a service served by ``served_agent`` once it holds ``at_least`` rows
    (the logger flushes every few seconds, off the request path)."""
    directory = scratch / "predictions"

    def enough() -> pd.DataFrame | None:
        frame = read_predictions(directory, agent)
        return frame if len(frame) >= at_least else None

    return wait_for(enough, timeout_s, what=f"{at_least} logged predictions of {agent}")


def logged_answer_for(
    scratch: Path, agent: str, inputs: Mapping[str, Any], *, timeout_s: float = 30
) -> pd.Series:
    """The logged answer to the row with these ``inputs``, once the logger has flushed it.

    Found by its inputs, not by position: a module's server answers every test in it, and its two
    workers write separate files, so the last row read back need not be the last row answered.
    """
    directory = scratch / "predictions"

    def found() -> pd.Series | None:
        frame = read_predictions(directory, agent)
        if frame.empty:
            return None
        features = logged_inputs(frame)
        matches = pd.Series(True, index=frame.index)
        for name, value in inputs.items():
            if name in features.columns:
                matches &= _equal(features[name], value)
        return frame[matches].iloc[-1] if matches.any() else None

    return wait_for(found, timeout_s, what=f"the logged answer of {agent} to {dict(inputs)}")


def _equal(column: pd.Series, value: Any) -> pd.Series:
    """Equal as logged: numbers are floats (closely equal), a missing value is null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return column.isna()
    if isinstance(value, int | float) and not isinstance(value, bool):
        numbers = pd.to_numeric(column, errors="coerce")
        return pd.Series(np.isclose(numbers, float(value), rtol=1e-9, atol=0.0), index=column.index)
    return column == value
