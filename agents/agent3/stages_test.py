from __future__ import annotations

import pandas as pd
import pytest

from agents.agent3.stages import _check_splittable
from libs.schemas import DataValidationError


def test_customers_of_both_classes_can_be_split() -> None:
    _check_splittable(pd.Series([True, True, False, False], index=[1, 2, 3, 4]))


@pytest.mark.parametrize(
    "ever_churned",
    [pd.Series([], dtype=bool), pd.Series([True] * 50), pd.Series([True] * 50 + [False])],
)
def test_data_leaving_a_class_without_two_customers_is_a_data_report(ever_churned: pd.Series) -> None:
    with pytest.raises(
        DataValidationError, match=r"dataset 'agent3 features': \d+ customers have a snapshot"
    ):
        _check_splittable(ever_churned)
