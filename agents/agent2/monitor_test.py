import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from agents.agent2.model import FEATURES, TARGET
from agents.agent2.monitor import MONITOR, predict
from agents.agent2.tiny_champion import tiny_demand, train_tiny_champion
from libs.monitoring.monitor import EXIT_DRIFTED, EXIT_STABLE, EXIT_TOO_FEW_ROWS, main
from libs.predictionlog.records import PredictionBatch, write_batch

PARAMS = {"monitor": {"psi_threshold": 0.2, "ks_pvalue_threshold": 0.0, "min_rows": 50, "exclude": ["month"]}}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    champion = train_tiny_champion(tmp_path / "champion", version="4")
    frame, quantity = tiny_demand(2000, seed=1)
    frame.assign(**{TARGET: quantity, "split": "train"}).to_parquet(tmp_path / "features.parquet")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    assert champion.model_version == "4"
    return tmp_path


def log_traffic(repo: Path, frame: pd.DataFrame) -> None:
    model = train_tiny_champion(repo / "champion", version="4").model
    outputs = predict(model, frame)
    batch = PredictionBatch(
        datetime.now(UTC),
        frame.to_dict("records"),
        [float(output) for output in outputs],
        "agent2-demand-forecaster",
        "4",
        1.0,
    )
    write_batch(repo / "logs" / "agent2", [batch])


def run(repo: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(
        MONITOR,
        [
            "--params", str(repo / "params.yaml"),
            "--features", str(repo / "features.parquet"),
            "--log-dir", str(repo / "logs"),
            "--champion-dir", str(repo / "champion"),
            "--out", str(repo / "out"),
            *extra,
        ],
    )  # fmt: skip
    assert (repo / "out" / "report.html").is_file()
    return code, json.loads((repo / "out" / "summary.json").read_text())


def test_traffic_like_training_is_stable(repo: Path) -> None:
    log_traffic(repo, tiny_demand(1000, seed=2)[0])
    code, summary = run(repo)
    assert code == EXIT_STABLE, summary
    assert summary["drifted"] is False and summary["current_rows"] == 1000
    assert summary["champion"] == {"model_name": "agent2-demand-forecaster", "model_version": "4"}


def test_shifted_demand_is_drift_with_its_own_exit_code(repo: Path) -> None:
    frame = tiny_demand(1000, seed=2)[0]
    shifted = frame.assign(**{name: frame[name] * 3 for name in ("lag_1", "lag_7", "rolling_mean_7")})
    log_traffic(repo, shifted)
    code, summary = run(repo)
    assert code == EXIT_DRIFTED
    assert {"lag_1", "lag_7", "rolling_mean_7"} <= set(summary["drifted_features"])
    assert summary["prediction"]["drifted"] is True
    assert "month" not in {feature["feature"] for feature in summary["features"]}


def test_too_few_rows_is_no_verdict(repo: Path) -> None:
    log_traffic(repo, tiny_demand(10, seed=2)[0])
    assert run(repo)[0] == EXIT_TOO_FEW_ROWS


def test_labelled_rows_give_a_quality_metric(repo: Path) -> None:
    frame, quantity = tiny_demand(500, seed=5)
    frame.assign(**{TARGET: quantity}).to_parquet(repo / "labelled.parquet")
    code, summary = run(repo, "--current", str(repo / "labelled.parquet"))
    assert code == EXIT_STABLE
    quality = summary["quality"]
    assert quality["metric"] == "mae" and quality["current"] > 0 and quality["current_count"] == 500
    assert sorted(FEATURES) == sorted(MONITOR.features)
