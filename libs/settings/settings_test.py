from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from libs.settings import Settings, find_project_root


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("MLOPS_"):
            monkeypatch.delenv(name)


def test_defaults_keep_all_state_under_one_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pants.toml").write_text("")
    nested = tmp_path / "pipelines" / "agent1"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    settings = Settings()

    home = tmp_path.resolve() / ".local"
    assert settings.home == home
    assert settings.mlflow_tracking_uri == f"sqlite:///{home / 'mlflow.db'}"
    assert settings.mlflow_registry_uri == settings.mlflow_tracking_uri
    assert settings.dvc_remote_url == str(home / "dvc-remote")
    assert settings.warehouse_path == home / "warehouse.duckdb"
    assert settings.prediction_log_dir == home / "predictions"
    assert settings.serve_host == "127.0.0.1"


def test_home_falls_back_to_cwd_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_project_root() is None, "test needs a tmp_path outside any project"
    assert Settings().home == tmp_path.resolve() / ".local"


def test_environment_overrides_and_derived_paths_follow_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("MLOPS_MLFLOW_TRACKING_URI", "postgresql://mlflow@127.0.0.1:5432/mlflow")
    monkeypatch.setenv("MLOPS_SERVE_BASE_PORT", "4100")

    settings = Settings()

    assert settings.home == (tmp_path / "state").resolve()
    assert settings.mlflow_tracking_uri == "postgresql://mlflow@127.0.0.1:5432/mlflow"
    assert settings.mlflow_registry_uri == "postgresql://mlflow@127.0.0.1:5432/mlflow"
    assert settings.warehouse_path == (tmp_path / "state").resolve() / "warehouse.duckdb"
    assert settings.service_port(2) == 4102


def test_empty_variable_means_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    monkeypatch.setenv("MLOPS_DVC_REMOTE_URL", "")
    assert Settings().dvc_remote_url == str(tmp_path.resolve() / "dvc-remote")


def test_settings_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "mlops.toml"
    settings_file.write_text(
        f'home = "{tmp_path / "from-file"}"\n'
        'dvc_remote_url = "s3://team-bucket/dvc"\n'
        "serve_base_port = 5000\n"
    )
    monkeypatch.setenv("MLOPS_SETTINGS_FILE", str(settings_file))
    monkeypatch.setenv("MLOPS_SERVE_BASE_PORT", "6000")

    settings = Settings()

    assert settings.home == (tmp_path / "from-file").resolve()
    assert settings.dvc_remote_url == "s3://team-bucket/dvc"
    assert settings.serve_base_port == 6000


def test_missing_settings_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_SETTINGS_FILE", str(tmp_path / "absent.toml"))
    with pytest.raises(FileNotFoundError, match="MLOPS_SETTINGS_FILE=.*absent.toml names no file"):
        Settings()


def test_unknown_key_in_settings_file_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "mlops.toml"
    settings_file.write_text('mlflow_trackng_uri = "sqlite:///typo.db"\n')
    monkeypatch.setenv("MLOPS_SETTINGS_FILE", str(settings_file))
    with pytest.raises(ValidationError, match="mlflow_trackng_uri"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("MLOPS_SERVE_BASE_PORT", "80", "serve_base_port"),
        ("MLOPS_SERVE_BASE_PORT", "not-a-port", "serve_base_port"),
        ("MLOPS_RANDOM_SEED", "-1", "random_seed"),
        ("MLOPS_SERVE_HOST", "   ", "serve_host"),
        ("MLOPS_SERVE_WORKERS", "0", "serve_workers"),
        ("MLOPS_SERVE_WORKERS", "all", "serve_workers"),
    ],
)
def test_bad_values_name_the_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=field):
        Settings()


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(ValidationError):
        settings.serve_host = "192.0.2.1"


def test_negative_port_offset_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="offset"):
        Settings(home=tmp_path).service_port(-1)


def test_services_run_a_worker_per_cpu_unless_told(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Settings(home=tmp_path).serve_workers == "cpu_count"
    monkeypatch.setenv("MLOPS_SERVE_WORKERS", "3")
    assert Settings(home=tmp_path).serve_workers == 3


def test_an_empty_variable_leaves_the_settings_files_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text("serve_base_port = 4000\n")
    monkeypatch.setenv("MLOPS_SETTINGS_FILE", str(settings_file))
    monkeypatch.setenv("MLOPS_SERVE_BASE_PORT", "")
    assert Settings().serve_base_port == 4000
