"""The one exception bad data raises, so callers catch data problems apart from bugs."""

from __future__ import annotations

import pandas as pd


class DataValidationError(ValueError):
    """``str(error)`` is a report meant for people; ``failure_cases`` keeps pandera's full table for code."""

    def __init__(
        self, message: str, *, dataset: str | None = None, failure_cases: pd.DataFrame | None = None
    ) -> None:
        super().__init__(message)
        self.dataset = dataset
        self.failure_cases = failure_cases if failure_cases is not None else pd.DataFrame()
