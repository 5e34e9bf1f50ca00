import json
import math
import re
import warnings
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


def test_hostile_values_leave_the_report_readable(repo: Path) -> None:
    """A few rows near 1e308 and ids of 1e33 among ordinary traffic: no overflow warning, finite
    means, robust statistics that ignore them, and the rows counted outside the reference's range."""
    frame = tiny_demand(400, seed=2)[0]
    hostile = frame.head(4).assign(lag_1=[1.7e308, 1e308, -1.7e308, 1.6e308], store_id=1e33, product_id=1e33)
    log_traffic(repo, pd.concat([frame, hostile], ignore_index=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy overflow (RuntimeWarning) fails the test
        code, summary = run(repo)
    assert code == EXIT_STABLE and summary["current_rows"] == 404  # four rows in 404 are not drift
    assert summary["out_of_range_rows"] == 4
    features = {feature["feature"]: feature for feature in summary["features"]}
    lag = features["lag_1"]
    assert (lag["current_below_reference"], lag["current_above_reference"]) == (1, 3)
    assert all(
        math.isfinite(lag[key]) for key in ("current_mean", "current_median", "current_p05", "current_p95")
    )
    assert lag["current_p95"] <= lag["reference_p95"] * 2, "the 95th percentile ignores four rows in 404"
    assert features["store_id"]["current_above_reference"] == 4

    html = (repo / "out" / "report.html").read_text()
    assert "inf" not in html.lower().replace("info", "")
    plot = re.search(
        r'<figure class="plot" data-feature="lag_1" data-underflow="(\d+)" data-overflow="(\d+)">', html
    )
    assert plot is not None and plot.groups() == ("1", "3")
    # The axis spans the reference's range, not the hostile values.
    figure = html.split('data-feature="lag_1" data-underflow', 1)[1].split("</figure>", 1)[0]
    assert "e+308" not in figure and "e+33" not in figure
    row = re.split(r'<tr class="feature[^"]*" data-feature="lag_1">', html, maxsplit=1)[1]
    row = row.split("</tr>", 1)[0]
    assert 'class="current-below" data-value="1"' in row and 'class="current-above" data-value="3"' in row
    assert re.search(r'id="out-of-range-rows">4</span> of 404', html)
