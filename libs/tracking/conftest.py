"""Fixtures the registry's tests share: a real MLflow store (SQLite) per test module."""

from __future__ import annotations

import pytest

from libs.settings import Settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing tracking and registry at a fresh SQLite store in a temporary home."""
    home = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    return Settings(home=home, mlflow_tracking_uri=uri, mlflow_registry_uri=uri)
