"""Which MLflow stores the helpers talk to, leaving MLflow's process-wide URIs as they were found.

MLflow keeps its tracking and registry URIs in module globals mirrored into environment variables;
``pointed_at`` sets both and puts back exactly what was there, so one test's store never leaks
into the next. Inside it, helpers called without settings use the same settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
from mlflow import MlflowClient
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils

from libs.settings import Settings, get_settings

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
REGISTRY_URI_VARIABLE = "MLFLOW_REGISTRY_URI"
ARTIFACTS_DIRNAME = "mlartifacts"

_active: ContextVar[Settings | None] = ContextVar("libs_tracking_settings", default=None)


def resolve_settings(settings: Settings | None = None) -> Settings:
    """Explicit settings win, then those of the enclosing ``pointed_at``, then the process-wide ones."""
    return settings or _active.get() or get_settings()


def client_for(settings: Settings | None = None) -> MlflowClient:
    resolved = resolve_settings(settings)
    return MlflowClient(tracking_uri=resolved.mlflow_tracking_uri, registry_uri=resolved.mlflow_registry_uri)


def artifact_location_for(settings: Settings) -> str | None:
    """Beside a SQLite store, not MLflow's default ``./mlruns`` under whatever the cwd happens to be.

    Other stores (a tracking server) choose their own artifact location.
    """
    parsed = urlparse(settings.mlflow_tracking_uri)
    database = unquote(parsed.path)[1:]  # sqlite:///relative.db, sqlite:////absolute.db
    if parsed.scheme != "sqlite" or database in ("", ":memory:"):
        return None
    return (Path(database).resolve().parent / ARTIFACTS_DIRNAME).as_uri()


@dataclass(frozen=True)
class _UriState:
    tracking: str | None
    registry: str | None
    tracking_variable: str | None
    registry_variable: str | None


def _snapshot() -> _UriState:
    return _UriState(
        tracking=getattr(tracking_utils, "_tracking_uri", None),
        registry=getattr(registry_utils, "_registry_uri", None),
        tracking_variable=os.environ.get(TRACKING_URI_VARIABLE),
        registry_variable=os.environ.get(REGISTRY_URI_VARIABLE),
    )


def _restore_variable(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _restore(state: _UriState) -> None:
    # None is MLflow's own "unset" (typed as str only); set_tracking_uri also resets its tracer state.
    mlflow.set_tracking_uri(state.tracking)  # type: ignore[arg-type]
    mlflow.set_registry_uri(state.registry)  # type: ignore[arg-type]
    _restore_variable(TRACKING_URI_VARIABLE, state.tracking_variable)
    _restore_variable(REGISTRY_URI_VARIABLE, state.registry_variable)


@contextmanager
def pointed_at(settings: Settings | None = None) -> Iterator[Settings]:
    resolved = resolve_settings(settings)
    saved = _snapshot()
    token = _active.set(resolved)
    try:
        mlflow.set_tracking_uri(resolved.mlflow_tracking_uri)
        mlflow.set_registry_uri(resolved.mlflow_registry_uri)
        yield resolved
    finally:
        _active.reset(token)
        _restore(saved)
