import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agents.agent2.tiny_champion import tiny_demand, train_tiny_champion
from libs.messages import MAX_BATCH, DemandFeatures, DemandForecast
from libs.serving.champion import CHAMPION_DIR_VARIABLE, Champion
from libs.serving.limits import DEFAULT_MAX_BODY_BYTES
from libs.serving.testing import BadPayload, Server, bad_payloads, serve
from services.agent2.service import DemandForecaster

FRAME, _ = tiny_demand(2, seed=3)
ROWS = [
    {
        **row,
        "store_id": int(row["store_id"]),
        "product_id": int(row["product_id"]),
        "day_of_week": int(row["day_of_week"]),
        "month": int(row["month"]),
    }
    for row in FRAME.to_dict("records")
]


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Champion]]:
    directory = tmp_path_factory.mktemp("champion")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CHAMPION_DIR_VARIABLE, str(directory))
        yield directory, train_tiny_champion(directory, version="5")


@pytest.fixture(scope="module")
def server(champion: tuple[Path, Champion], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    command = [sys.executable, "-m", "bentoml", "serve", "services.agent2.service:DemandForecaster"]
    log = tmp_path_factory.mktemp("logs") / "agent2.log"
    with serve(
        command, env={CHAMPION_DIR_VARIABLE: str(champion[0]), "PYTHONPATH": str(Path.cwd())}, log=log
    ) as running:
        yield running


def test_in_process_forecasts_match_the_model_and_name_it(champion: tuple[Path, Champion]) -> None:
    forecasts = DemandForecaster().forecast([DemandFeatures.model_validate(row) for row in ROWS])
    expected = np.clip(champion[1].model.predict(FRAME), 0, None)  # type: ignore[attr-defined]
    assert [forecast.predicted_quantity for forecast in forecasts] == pytest.approx(list(expected))
    assert {(forecast.model_name, forecast.model_version) for forecast in forecasts} == {
        ("agent2-demand-forecaster", "5")
    }


def test_http_forecasts_a_batch_with_unknown_lags(server: Server) -> None:
    reply = server.post("/forecast", {"rows": [ROWS[0], {**ROWS[1], "lag_1": None, "lag_14": None}]})
    assert reply.status == 200, reply.text
    forecasts = [DemandForecast.model_validate(item) for item in reply.body]
    assert len(forecasts) == 2 and all(forecast.predicted_quantity >= 0 for forecast in forecasts)
    assert {forecast.model_version for forecast in forecasts} == {"5"}


@pytest.mark.parametrize(
    "bad",
    bad_payloads("rows", ROWS[0], max_batch=MAX_BATCH, max_body_bytes=DEFAULT_MAX_BODY_BYTES),
    ids=lambda bad: bad.case,
)
def test_bad_payloads_get_a_4xx_naming_the_field_and_the_server_stays_up(
    server: Server, bad: BadPayload
) -> None:
    reply = server.post("/forecast", raw=bad.body)
    assert reply.status == bad.status, reply.text
    assert bad.named in reply.text
    assert server.ready()


def test_health_readiness_and_metrics(server: Server) -> None:
    assert server.get("/healthz").status == 200
    assert server.get("/readyz").status == 200
    metrics = server.get("/metrics")
    assert metrics.status == 200 and "bentoml_service_request" in str(metrics.body)
