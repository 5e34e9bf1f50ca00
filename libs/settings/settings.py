"""One typed settings object for the whole project.

Every default is embedded and local (a SQLite MLflow store, a directory DVC remote, DuckDB files,
services on loopback), so a fresh clone runs with no configuration. Scaling out is configuration
only: environment variables prefixed ``MLOPS_`` or a TOML file named by ``MLOPS_SETTINGS_FILE``
override any field; environment variables win over the file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "MLOPS_"
SETTINGS_FILE_VARIABLE = f"{ENV_PREFIX}SETTINGS_FILE"
PROJECT_MARKER = "pants.toml"
LOCAL_STATE_DIRNAME = ".local"


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest ancestor holding pants.toml: lets any entry point, from any stage's cwd, find the repo."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_MARKER).is_file():
            return candidate
    return None


def _default_home() -> Path:
    root = find_project_root()
    return (root or Path.cwd()) / LOCAL_STATE_DIRNAME


class Settings(BaseSettings):
    """Where state lives and how services are reached; derived paths follow ``home`` unless set."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        # An empty variable is not set: the settings file's value, else the default (as ./lifecycle
        # reads MLOPS_SERVE_BASE_PORT), not the default over the file's value.
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    home: Path = Field(
        default_factory=_default_home,
        description="The one git-ignored folder holding all local state.",
    )
    mlflow_tracking_uri: str = Field(
        default="",
        description="MLflow tracking store; default is a SQLite file under home.",
    )
    mlflow_registry_uri: str = Field(
        default="",
        description="MLflow model registry; default is the tracking store.",
    )
    dvc_remote_url: str = Field(
        default="",
        description="DVC default remote; default is a directory under home.",
    )
    warehouse_path: Path | None = Field(
        default=None,
        description="DuckDB database file for analytics; default under home.",
    )
    prediction_log_dir: Path | None = Field(
        default=None,
        description="Where services write prediction logs; default under home.",
    )
    prediction_log_keep_days: PositiveInt = Field(
        default=30, description="Days a prediction log file is kept after it was written."
    )
    prediction_log_max_mib: PositiveInt = Field(
        default=2048,
        description="Most MiB each prediction log (an agent's, its shadow's, the coordinator's) keeps;"
        " beyond it the oldest files go first.",
    )
    serve_host: str = Field(
        default="127.0.0.1", description="Services bind to loopback unless told otherwise."
    )
    serve_workers: PositiveInt | Literal["cpu_count"] = Field(
        default="cpu_count",
        description="Worker processes per agent service: one per CPU the process may use, as BentoML"
        " counts them (cgroup limits included); each has its own interpreter lock.",
    )
    serve_base_port: int = Field(
        default=3000, ge=1024, le=65000, description="First port of the services' range."
    )
    random_seed: int = Field(default=42, ge=0)
    champion_reload_interval_s: float = Field(
        default=5.0,
        ge=0,
        description="How often a service looks for a newly exported champion bundle; 0 turns it off.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        settings_file = os.environ.get(SETTINGS_FILE_VARIABLE)
        if settings_file:
            path = Path(settings_file)
            if not path.is_file():
                raise FileNotFoundError(f"{SETTINGS_FILE_VARIABLE}={settings_file} names no file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("serve_host")
    @classmethod
    def _non_empty_host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("serve_host must name an interface, e.g. 127.0.0.1")
        return value.strip()

    @model_validator(mode="before")
    @classmethod
    def _drop_empty_strings(cls, data: Any) -> Any:
        """An empty variable (``MLOPS_X=``) means 'use the default', as most tools read it."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value != ""}
        return data

    @model_validator(mode="after")
    def _derive_from_home(self) -> Settings:
        derived = {
            "mlflow_tracking_uri": self.mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow.db'}",
            "dvc_remote_url": self.dvc_remote_url or str(self.home / "dvc-remote"),
            "warehouse_path": self.warehouse_path or self.home / "warehouse.duckdb",
            "prediction_log_dir": self.prediction_log_dir or self.home / "predictions",
        }
        derived["mlflow_registry_uri"] = self.mlflow_registry_uri or derived["mlflow_tracking_uri"]
        for name, value in derived.items():
            object.__setattr__(self, name, value)
        return self

    def service_port(self, offset: int) -> int:
        """Services take consecutive ports from ``serve_base_port`` so one setting moves them all."""
        if offset < 0:
            raise ValueError(f"port offset must be >= 0, got {offset}")
        return self.serve_base_port + offset

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; tests build ``Settings()`` directly instead."""
    return Settings()
