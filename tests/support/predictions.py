"""Reading back what a served agent logged, for its tests (DuckDB, so agent resolves only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from libs.monitoring.prediction_reader import read_predictions
from tests.support.serving import wait_for


def logged_answers(scratch: Path, agent: str, *, at_least: int, timeout_s: float = 30) -> pd.DataFrame:
    """The prediction log of a service served by ``served_agent`` once it holds ``at_least`` rows
    (the logger flushes every few seconds, off the request path)."""
    directory = scratch / "predictions"

    def enough() -> pd.DataFrame | None:
        frame = read_predictions(directory, agent)
        return frame if len(frame) >= at_least else None

    return wait_for(enough, timeout_s, what=f"{at_least} logged predictions of {agent}")
