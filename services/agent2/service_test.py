import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agents.agent2.model import FEATURES, build_model
from agents.agent2.tiny_champion import tiny_demand, train_tiny_champion
from libs.messages import MAX_BATCH, DemandFeatures, DemandForecast
from libs.modelfiles.bundle import IDENTITY_FILE, MODEL_FILE, Champion, write_champion
from libs.monitoring.prediction_reader import logged_inputs, read_predictions
from libs.serving.http import UNTRACED, http_service
from libs.serving.reload import LiveChampion
from services.agent2.service import DemandForecaster, _can_predict
from tests.support.predictions import logged_answer_for
from tests.support.serving import (
    CHAMPION_FAULTS,
    BadPayload,
    Server,
    bad_payloads,
    check_broken_champion,
    check_hot_reload,
    check_no_pickles,
    check_probes,
    check_rejected,
    served_champion,
    wait_for,
)

FRAME, _ = tiny_demand(2, seed=3)
INTEGER_FIELDS = ("store_id", "product_id", "day_of_week", "month")
ROWS = [{**row, **{key: int(row[key]) for key in INTEGER_FIELDS}} for row in FRAME.to_dict("records")]


SERVICE = "services.agent2.service:DemandForecaster"


TRAIN_CHAMPION = functools.partial(train_tiny_champion, version="5")


def test_in_process_forecasts_match_the_model_and_name_it(champion: Champion) -> None:
    forecasts = DemandForecaster().forecast([DemandFeatures.model_validate(row) for row in ROWS])
    expected = np.clip(champion.model.predict(FRAME), 0, None)  # type: ignore[attr-defined]
    assert [forecast.predicted_quantity for forecast in forecasts] == pytest.approx(list(expected))
    assert {(forecast.model_name, forecast.model_version) for forecast in forecasts} == {
        ("agent2-demand-forecaster", "5")
    }


def test_in_process_forecasts_equal_the_models_on_a_dataframe_bit_for_bit(champion: Champion) -> None:
    # The service predicts on a float matrix; training (and the service, before) on a DataFrame.
    frame, _ = tiny_demand(500, seed=12)
    frame.loc[::7, "lag_1"] = np.nan
    frame.loc[::9, "rolling_mean_28"] = np.nan
    rows = [
        {key: None if pd.isna(value) else value for key, value in row.items()}
        | {key: int(row[key]) for key in INTEGER_FIELDS}
        for row in frame.to_dict("records")
    ]
    forecasts = DemandForecaster().forecast([DemandFeatures.model_validate(row) for row in rows])
    expected = np.clip(champion.model.predict(frame), 0, None)  # type: ignore[attr-defined]
    assert [forecast.predicted_quantity for forecast in forecasts] == list(expected)


def test_a_champion_fitted_on_other_features_or_another_order_is_not_loaded(tmp_path: Path) -> None:
    frame, quantity = tiny_demand(200)
    params = {"learning_rate": 0.1, "max_iter": 5, "max_leaf_nodes": 7, "random_state": 0}
    for case, columns in {"reordered": [*FEATURES[1:], FEATURES[0]], "fewer": FEATURES[:-1]}.items():
        model = build_model(params).fit(frame[columns], quantity)
        bundle = tmp_path / case
        write_champion(model, model_name="agent2-demand-forecaster", model_version="1", directory=bundle)
        live = LiveChampion(bundle, check=_can_predict, interval_s=0)
        assert not live.ready, case
        assert live.problem is not None and "was fitted on features" in live.problem, live.problem


def test_http_forecasts_a_batch_with_unknown_lags(server: Server) -> None:
    reply = server.post("/forecast", {"rows": [ROWS[0], {**ROWS[1], "lag_1": None, "lag_14": None}]})
    assert reply.status == 200, reply.text
    forecasts = [DemandForecast.model_validate(item) for item in reply.body]
    assert len(forecasts) == 2 and all(forecast.predicted_quantity >= 0 for forecast in forecasts)
    assert {forecast.model_version for forecast in forecasts} == {"5"}


def test_concurrent_requests_merged_into_batches_each_get_their_own_forecasts(
    server: Server, champion: Champion
) -> None:
    frame, _ = tiny_demand(24 * 25 // 2, seed=11)
    requests = []
    start = 0
    for size in range(1, 25):  # 24 requests of 1..24 rows, so a mix-up of slices would show
        part = frame.iloc[start : start + size]
        start += size
        rows = [{**row, **{key: int(row[key]) for key in INTEGER_FIELDS}} for row in part.to_dict("records")]
        requests.append((rows, np.clip(champion.model.predict(part), 0, None)))  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        replies = list(pool.map(lambda request: server.post("/forecast", {"rows": request[0]}), requests))
    for (rows, expected), reply in zip(requests, replies, strict=True):
        assert reply.status == 200, reply.text
        assert [(item["store_id"], item["product_id"]) for item in reply.body] == [
            (row["store_id"], row["product_id"]) for row in rows
        ]
        assert [item["predicted_quantity"] for item in reply.body] == pytest.approx(list(expected))
    requests_served, batches = (
        _metric(server, f"bentoml_service_adaptive_batch_size_{kind}") for kind in ("sum", "count")
    )
    assert requests_served > batches > 0, "no two requests were merged into one predict call"


def _metric(server: Server, name: str) -> float:
    lines = str(server.get("/metrics").body).splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(name + "{"))


@pytest.mark.parametrize("bad", bad_payloads("rows", ROWS[0], max_batch=MAX_BATCH), ids=lambda bad: bad.case)
def test_bad_payloads_get_a_4xx_naming_the_field_and_the_server_stays_up(
    server: Server, bad: BadPayload
) -> None:
    check_rejected(server, "/forecast", bad)


def test_health_readiness_and_metrics(server: Server) -> None:
    check_probes(server)


def test_nothing_is_traced_without_an_exporter_yet_each_answer_has_its_own_request_id(server: Server) -> None:
    # libs.serving.http: BentoML's tracing, all cost and no spans kept when nothing exports them, is
    # off unless a service is declared with an exporter; the request id BentoML took from it stays.
    declared: Any = DemandForecaster  # a bentoml.Service: http_service's declaration
    assert declared.config["tracing"] == UNTRACED
    traced = http_service("traced", tracing={"exporter_type": "otlp", "sample_rate": 1.0})
    assert traced(type("Traced", (), {})).config["tracing"] == {"exporter_type": "otlp", "sample_rate": 1.0}
    replies = [server.post("/forecast", {"rows": ROWS[:1]}) for _ in range(3)]
    ids = {reply.headers.get("x-bentoml-request-id") for reply in replies}
    assert len(ids) == 3 and None not in ids, [reply.headers for reply in replies]


def test_predicting_on_a_matrix_warns_nothing(server: Server) -> None:
    assert server.post("/forecast", {"rows": ROWS}).status == 200
    assert "feature names" not in server.log.read_text(errors="replace")


def test_each_served_prediction_is_logged_with_inputs_output_model_and_latency(
    server: Server, scratch: Path
) -> None:
    reply = server.post("/forecast", {"rows": ROWS})
    assert reply.status == 200, reply.text
    row = logged_answer_for(scratch, "agent2", ROWS[-1])
    assert (row["model_name"], row["model_version"]) == ("agent2-demand-forecaster", "5")
    assert row["latency_ms"] > 0
    assert row["output"] == pytest.approx(reply.body[-1]["predicted_quantity"])
    logged = read_predictions(scratch / "predictions", "agent2")
    assert sorted(logged_inputs(logged).columns) == sorted(FEATURES)
    # Polled: under a loaded test run /metrics has once answered 200 with an empty body.
    wait_for(lambda: "prediction_log_dropped_total" in str(server.get("/metrics").body), what="/metrics")


def test_a_broken_bundle_keeps_the_champion_answering(server: Server, scratch: Path) -> None:
    bundle = scratch / "champion"
    good_model = (bundle / MODEL_FILE).read_bytes()
    (bundle / MODEL_FILE).write_bytes(b"not a model")
    (bundle / IDENTITY_FILE).write_text(
        json.dumps({"model_name": "agent2-demand-forecaster", "model_version": "99"})
    )
    try:
        deadline = time.monotonic() + 3  # six reload checks
        while time.monotonic() < deadline:
            reply = server.post("/forecast", {"rows": ROWS[:1]})
            assert reply.status == 200 and reply.body[0]["model_version"] == "5", reply.text
        log = server.log.read_text(errors="replace")
        assert "champion reload" in log and "still serving agent2-demand-forecaster v5" in log, log[-2000:]
    finally:
        (bundle / MODEL_FILE).write_bytes(good_model)


def test_a_new_champion_is_picked_up_without_failing_a_request(server: Server, scratch: Path) -> None:
    publish = functools.partial(train_tiny_champion, scratch / "champion")
    statuses = check_hot_reload(
        server, "/forecast", {"rows": ROWS}, lambda version: publish(version=version), version="6"
    )
    assert set(statuses) == {200}


def test_an_unwritable_log_directory_still_answers(tmp_path: Path) -> None:
    (tmp_path / "not-a-directory").write_text("a file where the log folder should be")
    env = {"MLOPS_PREDICTION_LOG_DIR": str(tmp_path / "not-a-directory" / "logs")}
    train = functools.partial(train_tiny_champion, version="5")
    with served_champion(SERVICE, train, tmp_path, env=env) as (_, server):
        for _ in range(3):
            reply = server.post("/forecast", {"rows": ROWS})
            assert reply.status == 200, reply.text
        # Drops happen on the writer thread; the counter catches up on the next request.
        # Up to a minute: on a CI machine running every test at once this took over 30 s.
        wait_for(lambda: _dropped(server) >= len(ROWS), timeout_s=60, what="dropped records on /metrics")


def _workers(server: Server) -> int:
    """BentoML worker processes under the server's arbiter (Linux /proc)."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            parent = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
            command = (status.parent / "cmdline").read_bytes()
        except (OSError, StopIteration):  # the process ended while we looked
            continue
        count += int(parent.split()[1]) == server.process.pid and b"_bentoml_impl.worker" in command
    return count


def test_two_workers_answer_and_log_every_row(tmp_path: Path, champion: Champion) -> None:
    frame, _ = tiny_demand(40, seed=5)
    rows = [{**row, **{key: int(row[key]) for key in INTEGER_FIELDS}} for row in frame.to_dict("records")]
    train = functools.partial(train_tiny_champion, version="5")
    with served_champion(SERVICE, train, tmp_path, env={"MLOPS_SERVE_WORKERS": "2"}) as (_, server):
        assert _workers(server) == 2
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(lambda row: server.post("/forecast", {"rows": [row]}), rows))
        assert [reply.status for reply in replies] == [200] * len(rows)
        expected = np.clip(champion.model.predict(frame), 0, None)  # type: ignore[attr-defined]
        assert [reply.body[0]["predicted_quantity"] for reply in replies] == pytest.approx(list(expected))
        logged = wait_for(lambda: _logged(tmp_path, len(rows)), what="both workers' prediction logs")
    assert sorted(logged["output"]) == pytest.approx(sorted(expected))


def _dropped(server: Server) -> float:
    assert server.post("/forecast", {"rows": ROWS[:1]}).status == 200
    return _metric(server, "prediction_log_dropped_total")


def _logged(scratch: Path, at_least: int) -> pd.DataFrame | None:
    frame = read_predictions(scratch / "predictions", "agent2")
    return frame if len(frame) >= at_least else None


def test_no_request_body_is_unpickled(server: Server, tmp_path: Path) -> None:
    check_no_pickles(server, "/forecast", tmp_path)


@pytest.mark.parametrize("fault", sorted(CHAMPION_FAULTS))
def test_a_missing_or_corrupt_champion_refuses_readiness_and_binds_to_loopback(
    tmp_path: Path, fault: str
) -> None:
    train = functools.partial(train_tiny_champion, version="5")
    check_broken_champion(SERVICE, train, tmp_path, fault, "/forecast", {"rows": ROWS})
