import functools
import json
from pathlib import Path
from typing import Any

import pytest

from agents.agent1.model import FEATURES
from agents.agent1.tiny_champion import tiny_transactions, train_tiny_champion
from libs.messages import MAX_BATCH, MAX_FEATURE, ScreeningResult, TransactionFeatures
from libs.modelfiles.bundle import Champion
from libs.monitoring.prediction_reader import logged_inputs, read_predictions
from services.agent1.service import TransactionSentinel
from tests.support.predictions import logged_answer_for
from tests.support.serving import (
    CHAMPION_FAULTS,
    BadPayload,
    Server,
    bad_payloads,
    check_ambiguous_framing_refused,
    check_broken_champion,
    check_hot_reload,
    check_json_charset_and_coding,
    check_no_pickles,
    check_not_found_and_wrong_method_are_json,
    check_probes,
    check_rejected,
    check_stalled_body,
    wait_for,
)

ROW = {"transaction_id": 7, **tiny_transactions(1, seed=3).iloc[0].to_dict()}


SERVICE = "services.agent1.service:TransactionSentinel"
# This module's server logs as the images do: one JSON object per line.
SERVER_ENV = {"MLOPS_LOG_FORMAT": "json"}
TRAIN_CHAMPION = functools.partial(train_tiny_champion, version="3")


def test_in_process_scores_match_the_model_and_name_it(champion: Champion) -> None:
    service = TransactionSentinel()
    results = service.score([TransactionFeatures.model_validate(ROW)])
    expected = champion.model.predict(tiny_transactions(1, seed=3))  # type: ignore[attr-defined]
    assert results[0].anomaly_score == pytest.approx(float(expected[0]))
    assert (results[0].model_name, results[0].model_version) == ("agent1-transaction-sentinel", "3")


def test_in_process_scores_equal_the_models_on_a_dataframe_bit_for_bit(champion: Champion) -> None:
    # The service predicts on a float matrix; training (and the service, before) on a DataFrame.
    frame = tiny_transactions(300, seed=8)
    frame.loc[0, "log_amount"], frame.loc[1, "amount_zscore"] = MAX_FEATURE, -MAX_FEATURE  # the bounds
    rows = [{"transaction_id": index + 1, **row} for index, row in enumerate(frame.to_dict("records"))]
    results = TransactionSentinel().score([TransactionFeatures.model_validate(row) for row in rows])
    expected = champion.model.predict(frame)  # type: ignore[attr-defined]
    assert [result.anomaly_score for result in results] == list(expected)


def test_http_scores_a_batch_and_names_the_model(server: Server) -> None:
    reply = server.post("/score", {"transactions": [ROW, {**ROW, "transaction_id": 8, "price_ratio": 9.0}]})
    assert reply.status == 200, reply.text
    results = [ScreeningResult.model_validate(item) for item in reply.body]
    assert [result.transaction_id for result in results] == [7, 8]
    assert {result.model_version for result in results} == {"3"}
    assert results[1].anomaly_score > results[0].anomaly_score  # a 9x price is stranger


@pytest.mark.parametrize(
    "bad", bad_payloads("transactions", ROW, max_batch=MAX_BATCH), ids=lambda bad: bad.case
)
def test_bad_payloads_get_a_4xx_naming_the_field_and_the_server_stays_up(
    server: Server, bad: BadPayload
) -> None:
    check_rejected(server, "/score", bad)


def test_health_readiness_and_metrics(server: Server) -> None:
    check_probes(server)


def test_a_stalled_body_is_a_408_in_seconds_and_other_clients_are_served(server: Server) -> None:
    check_stalled_body(server, "/score", {"transactions": [ROW]})


def test_json_in_another_charset_or_compressed_is_a_415(server: Server) -> None:
    check_json_charset_and_coding(server, "/score", {"transactions": [ROW]})


def test_unknown_paths_and_wrong_methods_get_json_4xx(server: Server) -> None:
    check_not_found_and_wrong_method_are_json(server, "/score")


def test_a_body_framed_by_length_and_chunks_is_a_400_and_closes(server: Server) -> None:
    check_ambiguous_framing_refused(server, "/score", {"transactions": [ROW]})


def test_each_served_prediction_is_logged(server: Server) -> None:
    reply = server.post("/score", {"transactions": [ROW]})
    assert reply.status == 200, reply.text
    row = logged_answer_for(server.log.parent, "agent1", ROW)
    assert (row["model_name"], row["model_version"]) == ("agent1-transaction-sentinel", "3")
    assert row["output"] == pytest.approx(reply.body[-1]["anomaly_score"]) and row["latency_ms"] > 0
    logged = read_predictions(server.log.parent / "predictions", "agent1")
    assert sorted(logged_inputs(logged).columns) == sorted(FEATURES)


def test_a_new_champion_is_picked_up_without_failing_a_request(server: Server) -> None:
    directory = server.log.parent / "champion"
    publish = functools.partial(train_tiny_champion, directory)
    check_hot_reload(
        server, "/score", {"transactions": [ROW]}, lambda version: publish(version=version), version="4"
    )


def test_no_request_body_is_unpickled(server: Server, tmp_path: Path) -> None:
    check_no_pickles(server, "/score", tmp_path)


@pytest.mark.parametrize("fault", sorted(CHAMPION_FAULTS))
def test_a_missing_or_corrupt_champion_refuses_readiness_and_binds_to_loopback(
    tmp_path: Path, fault: str
) -> None:
    train = functools.partial(train_tiny_champion, version="3")
    check_broken_champion(
        "services.agent1.service:TransactionSentinel",
        train,
        tmp_path,
        fault,
        "/score",
        {"transactions": [ROW]},
    )


def test_a_served_request_is_one_json_log_line_with_model_version_and_latency(server: Server) -> None:
    reply = server.post("/score", {"transactions": [ROW]})
    assert reply.status == 200, reply.text

    def answered_line() -> dict[str, Any] | None:
        lines = [json.loads(line) for line in _log_lines(server) if '"libs.serving.answers"' in line]
        return lines[-1] if lines else None

    line = wait_for(answered_line, what="the answered request's JSON log line")
    assert {"time", "level", "logger", "message"} <= set(line)
    # The version that answered: an earlier test of this module may have published a newer champion.
    answered = reply.body[0]["model_version"]
    assert (line["agent"], line["model_name"], line["model_version"]) == (
        "agent1",
        "agent1-transaction-sentinel",
        answered,
    )
    assert line["latency_ms"] > 0 and line["rows"] >= 1


def test_every_log_line_of_the_server_is_a_json_object(server: Server) -> None:
    assert server.post("/score", {"transactions": [ROW]}).status == 200
    lines = _log_lines(server)
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def _log_lines(server: Server) -> list[str]:
    return [line for line in server.log.read_text(errors="replace").splitlines() if line.strip()]
