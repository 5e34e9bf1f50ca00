import datetime as dt

import numpy as np
import pytest

from libs.datagen import WorldConfig


def test_defaults_are_the_ci_sized_world() -> None:
    config = WorldConfig()
    assert (config.seed, config.n_stores, config.n_products) == (42, 5, 20)
    assert (config.n_customers, config.n_transactions, config.n_days) == (400, 20_000, 364)
    assert config.anomaly_rate == 0.01
    assert config.drift is False
    assert config.start_day() == np.datetime64("2024-01-01")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_transactions", 0),
        ("n_customers", -5),
        ("n_days", 2),
        ("seed", -1),
        ("n_stores", 2.5),
        ("n_days", True),
        ("anomaly_rate", 0.9),
        ("anomaly_rate", "0.01"),
        ("drift", "yes"),
        ("start_date", "01/02/2024"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        WorldConfig(**{field: value})  # type: ignore[arg-type]


def test_from_mapping_reads_params_and_accepts_yaml_dates() -> None:
    config = WorldConfig.from_mapping(
        {"seed": 7, "n_days": 240, "drift": True, "start_date": dt.date(2023, 3, 1)}
    )
    assert config == WorldConfig(seed=7, n_days=240, drift=True, start_date="2023-03-01")


def test_from_mapping_names_unknown_keys() -> None:
    with pytest.raises(ValueError, match=r"unknown world setting\(s\) \['n_transaction'\]"):
        WorldConfig.from_mapping({"n_transaction": 10})
