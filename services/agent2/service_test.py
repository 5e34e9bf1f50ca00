import functools
from collections.abc import Iterator

import numpy as np
import pytest

from agents.agent2.tiny_champion import tiny_demand, train_tiny_champion
from libs.messages import MAX_BATCH, DemandFeatures, DemandForecast
from libs.serving.champion import Champion
from libs.serving.testing import (
    BadPayload,
    Server,
    bad_payloads,
    check_probes,
    check_rejected,
    served_champion,
)
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
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Champion, Server]]:
    train = functools.partial(train_tiny_champion, version="5")
    with served_champion(
        "services.agent2.service:DemandForecaster", train, tmp_path_factory.mktemp("agent2")
    ) as running:
        yield running


@pytest.fixture(scope="module")
def champion(served: tuple[Champion, Server]) -> Champion:
    return served[0]


@pytest.fixture(scope="module")
def server(served: tuple[Champion, Server]) -> Server:
    return served[1]


def test_in_process_forecasts_match_the_model_and_name_it(champion: Champion) -> None:
    forecasts = DemandForecaster().forecast([DemandFeatures.model_validate(row) for row in ROWS])
    expected = np.clip(champion.model.predict(FRAME), 0, None)  # type: ignore[attr-defined]
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


@pytest.mark.parametrize("bad", bad_payloads("rows", ROWS[0], max_batch=MAX_BATCH), ids=lambda bad: bad.case)
def test_bad_payloads_get_a_4xx_naming_the_field_and_the_server_stays_up(
    server: Server, bad: BadPayload
) -> None:
    check_rejected(server, "/forecast", bad)


def test_health_readiness_and_metrics(server: Server) -> None:
    check_probes(server)
