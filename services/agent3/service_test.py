import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.agent3.tiny_champion import tiny_customers, train_tiny_champion
from libs.messages import MAX_BATCH, ChurnAssessment, CustomerFeatures
from libs.serving.champion import CHAMPION_DIR_VARIABLE, Champion
from libs.serving.limits import DEFAULT_MAX_BODY_BYTES
from libs.serving.testing import BadPayload, Server, bad_payloads, serve
from services.agent3.service import ChurnClassifier

FRAME, _ = tiny_customers(2, seed=3)
ROWS = [{"customer_id": index + 1, **row} for index, row in enumerate(FRAME.to_dict("records"))]


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Champion]]:
    directory = tmp_path_factory.mktemp("champion")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CHAMPION_DIR_VARIABLE, str(directory))
        yield directory, train_tiny_champion(directory, version="2")


@pytest.fixture(scope="module")
def server(champion: tuple[Path, Champion], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    command = [sys.executable, "-m", "bentoml", "serve", "services.agent3.service:ChurnClassifier"]
    log = tmp_path_factory.mktemp("logs") / "agent3.log"
    with serve(
        command, env={CHAMPION_DIR_VARIABLE: str(champion[0]), "PYTHONPATH": str(Path.cwd())}, log=log
    ) as running:
        yield running


def test_in_process_probabilities_match_the_model_and_name_it(champion: tuple[Path, Champion]) -> None:
    assessments = ChurnClassifier().assess([CustomerFeatures.model_validate(row) for row in ROWS])
    expected = champion[1].model.predict_proba(FRAME)[:, 1]  # type: ignore[attr-defined]
    assert [assessment.churn_probability for assessment in assessments] == pytest.approx(list(expected))
    assert {assessment.model_version for assessment in assessments} == {"2"}


def test_http_assesses_a_batch_and_recency_raises_the_risk(server: Server) -> None:
    recent, lapsed = {**ROWS[0], "recency_days": 1.0}, {**ROWS[0], "customer_id": 99, "recency_days": 89.0}
    reply = server.post("/assess", {"customers": [recent, lapsed]})
    assert reply.status == 200, reply.text
    assessments = [ChurnAssessment.model_validate(item) for item in reply.body]
    assert [assessment.customer_id for assessment in assessments] == [1, 99]
    assert assessments[1].churn_probability > assessments[0].churn_probability
    assert {(a.model_name, a.model_version) for a in assessments} == {("agent3-churn-classifier", "2")}


@pytest.mark.parametrize(
    "bad",
    bad_payloads("customers", ROWS[0], max_batch=MAX_BATCH, max_body_bytes=DEFAULT_MAX_BODY_BYTES),
    ids=lambda bad: bad.case,
)
def test_bad_payloads_get_a_4xx_naming_the_field_and_the_server_stays_up(
    server: Server, bad: BadPayload
) -> None:
    reply = server.post("/assess", raw=bad.body)
    assert reply.status == bad.status, reply.text
    assert bad.named in reply.text
    assert server.ready()


def test_health_readiness_and_metrics(server: Server) -> None:
    assert server.get("/healthz").status == 200
    assert server.get("/readyz").status == 200
    metrics = server.get("/metrics")
    assert metrics.status == 200 and "bentoml_service_request" in str(metrics.body)
