import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.agent1.tiny_champion import tiny_transactions, train_tiny_champion
from libs.messages import MAX_BATCH, ScreeningResult, TransactionFeatures
from libs.serving.champion import CHAMPION_DIR_VARIABLE, Champion
from libs.serving.limits import DEFAULT_MAX_BODY_BYTES
from libs.serving.testing import BadPayload, Server, bad_payloads, serve
from services.agent1.service import TransactionSentinel

ROW = {"transaction_id": 7, **tiny_transactions(1, seed=3).iloc[0].to_dict()}


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Champion]]:
    directory = tmp_path_factory.mktemp("champion")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CHAMPION_DIR_VARIABLE, str(directory))
        yield directory, train_tiny_champion(directory, version="3")


@pytest.fixture(scope="module")
def server(champion: tuple[Path, Champion], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    command = [sys.executable, "-m", "bentoml", "serve", "services.agent1.service:TransactionSentinel"]
    log = tmp_path_factory.mktemp("logs") / "agent1.log"
    with serve(
        command, env={CHAMPION_DIR_VARIABLE: str(champion[0]), "PYTHONPATH": str(Path.cwd())}, log=log
    ) as running:
        yield running


def test_in_process_scores_match_the_model_and_name_it(champion: tuple[Path, Champion]) -> None:
    service = TransactionSentinel()
    results = service.score([TransactionFeatures.model_validate(ROW)])
    expected = champion[1].model.predict(tiny_transactions(1, seed=3))  # type: ignore[attr-defined]
    assert results[0].anomaly_score == pytest.approx(float(expected[0]))
    assert (results[0].model_name, results[0].model_version) == ("agent1-transaction-sentinel", "3")


def test_http_scores_a_batch_and_names_the_model(server: Server) -> None:
    reply = server.post("/score", {"transactions": [ROW, {**ROW, "transaction_id": 8, "price_ratio": 9.0}]})
    assert reply.status == 200, reply.text
    results = [ScreeningResult.model_validate(item) for item in reply.body]
    assert [result.transaction_id for result in results] == [7, 8]
    assert {result.model_version for result in results} == {"3"}
    assert results[1].anomaly_score > results[0].anomaly_score  # a 9x price is stranger


@pytest.mark.parametrize(
    "bad",
    bad_payloads("transactions", ROW, max_batch=MAX_BATCH, max_body_bytes=DEFAULT_MAX_BODY_BYTES),
    ids=lambda bad: bad.case,
)
def test_bad_payloads_get_a_4xx_naming_the_field_and_the_server_stays_up(
    server: Server, bad: BadPayload
) -> None:
    reply = server.post("/score", raw=bad.body)
    assert reply.status == bad.status, reply.text
    assert bad.named in reply.text
    assert server.ready()


def test_health_readiness_and_metrics(server: Server) -> None:
    assert server.get("/healthz").status == 200
    assert server.get("/readyz").status == 200
    metrics = server.get("/metrics")
    assert metrics.status == 200 and "bentoml_service_request" in str(metrics.body)
