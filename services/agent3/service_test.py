import functools
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agents.agent3.model import FEATURES, build_baseline, build_model
from agents.agent3.tiny_champion import FORMULAS, tiny_customers, train_tiny_champion
from libs.messages import MAX_BATCH, ChurnAssessment, CustomerFeatures
from libs.modelfiles.bundle import CHAMPION_DIR_VARIABLE, Champion, write_champion
from libs.monitoring.prediction_reader import logged_inputs, read_predictions
from libs.serving.reload import LiveChampion
from services.agent3.service import ChurnClassifier, _gives_probabilities
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
)

FRAME, _ = tiny_customers(2, seed=3)
ROWS = [{"customer_id": index + 1, **row} for index, row in enumerate(FRAME.to_dict("records"))]


SERVICE = "services.agent3.service:ChurnClassifier"
TRAIN_CHAMPION = functools.partial(train_tiny_champion, version="2")


def test_in_process_probabilities_match_the_model_and_name_it(champion: Champion) -> None:
    assessments = ChurnClassifier().assess([CustomerFeatures.model_validate(row) for row in ROWS])
    expected = champion.model.predict_proba(FRAME)[:, 1]  # type: ignore[attr-defined]
    assert [assessment.churn_probability for assessment in assessments] == pytest.approx(list(expected))
    assert {assessment.model_version for assessment in assessments} == {"2"}


def test_in_process_probabilities_equal_the_models_on_a_dataframe_bit_for_bit(champion: Champion) -> None:
    # The service hands the pipeline named numpy columns; training (and the service, before) a DataFrame.
    frame, _ = tiny_customers(500, seed=12)
    frame.loc[::11, "visits"] = 0.0  # revenue / visits over no visits: the formula's fill value
    rows = [{"customer_id": index + 1, **row} for index, row in enumerate(frame.to_dict("records"))]
    assessments = ChurnClassifier().assess([CustomerFeatures.model_validate(row) for row in rows])
    expected = champion.model.predict_proba(frame)[:, 1]  # type: ignore[attr-defined]
    assert [assessment.churn_probability for assessment in assessments] == list(expected)


def test_a_champion_fitted_on_reordered_columns_is_served_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, churned = tiny_customers(200)
    reordered = [*FEATURES[1:], FEATURES[0]]
    model = build_model(FORMULAS, regularization=1.0, max_iter=200).fit(frame[reordered], churned)
    write_champion(model, model_name="agent3-churn-classifier", model_version="1", directory=tmp_path)
    monkeypatch.setenv(CHAMPION_DIR_VARIABLE, str(tmp_path))
    service = ChurnClassifier()
    try:
        assert service.runtime.ready, service.runtime.live.problem
        rows = [{"customer_id": index + 1, **row} for index, row in enumerate(frame.to_dict("records"))]
        assessments = service.assess([CustomerFeatures.model_validate(row) for row in rows])
    finally:
        service.close()
    expected = model.predict_proba(frame[reordered])[:, 1]
    assert [assessment.churn_probability for assessment in assessments] == list(expected)


def test_a_champion_that_cannot_take_the_services_columns_is_not_loaded(tmp_path: Path) -> None:
    frame, churned = tiny_customers(200)
    cases = {
        "a feature short": (
            build_model(FORMULAS, regularization=1.0, max_iter=200).fit(frame[FEATURES[:-1]], churned),
            "was fitted on features",
        ),
        "no formulas": (
            build_baseline().fit(frame[FEATURES], churned),
            "does not start with a FormulaTransformer",
        ),
    }
    for case, (model, reason) in cases.items():
        bundle = tmp_path / case
        write_champion(model, model_name="agent3-churn-classifier", model_version="1", directory=bundle)
        live = LiveChampion(bundle, check=_gives_probabilities, interval_s=0)
        assert not live.ready, case
        assert live.problem is not None and reason in live.problem, live.problem


def test_http_assesses_a_batch_and_recency_raises_the_risk(server: Server) -> None:
    recent, lapsed = {**ROWS[0], "recency_days": 1.0}, {**ROWS[0], "customer_id": 99, "recency_days": 89.0}
    reply = server.post("/assess", {"customers": [recent, lapsed]})
    assert reply.status == 200, reply.text
    assessments = [ChurnAssessment.model_validate(item) for item in reply.body]
    assert [assessment.customer_id for assessment in assessments] == [1, 99]
    assert assessments[1].churn_probability > assessments[0].churn_probability
    assert {(a.model_name, a.model_version) for a in assessments} == {("agent3-churn-classifier", "2")}


@pytest.mark.parametrize(
    "bad", bad_payloads("customers", ROWS[0], max_batch=MAX_BATCH), ids=lambda bad: bad.case
)
def test_bad_payloads_get_a_4xx_naming_the_field_and_the_server_stays_up(
    server: Server, bad: BadPayload
) -> None:
    check_rejected(server, "/assess", bad)


def test_health_readiness_and_metrics(server: Server) -> None:
    check_probes(server)


def test_predicting_on_named_arrays_warns_nothing(server: Server) -> None:
    assert server.post("/assess", {"customers": ROWS}).status == 200
    assert "feature names" not in server.log.read_text(errors="replace")


def test_each_served_prediction_is_logged(server: Server) -> None:
    reply = server.post("/assess", {"customers": ROWS})
    assert reply.status == 200, reply.text
    row = logged_answer_for(server.log.parent, "agent3", ROWS[-1])
    assert (row["model_name"], row["model_version"]) == ("agent3-churn-classifier", "2")
    assert row["output"] == pytest.approx(reply.body[-1]["churn_probability"]) and row["latency_ms"] > 0
    logged = read_predictions(server.log.parent / "predictions", "agent3")
    assert sorted(logged_inputs(logged).columns) == sorted(FEATURES)


def test_a_new_champion_is_picked_up_without_failing_a_request(server: Server) -> None:
    directory = server.log.parent / "champion"
    publish = functools.partial(train_tiny_champion, directory)
    check_hot_reload(
        server, "/assess", {"customers": ROWS}, lambda version: publish(version=version), version="3"
    )


def test_no_request_body_is_unpickled(server: Server, tmp_path: Path) -> None:
    check_no_pickles(server, "/assess", tmp_path)


@pytest.mark.parametrize("fault", sorted(CHAMPION_FAULTS))
def test_a_missing_or_corrupt_champion_refuses_readiness_and_binds_to_loopback(
    tmp_path: Path, fault: str
) -> None:
    train = functools.partial(train_tiny_champion, version="2")
    check_broken_champion(
        "services.agent3.service:ChurnClassifier", train, tmp_path, fault, "/assess", {"customers": ROWS}
    )


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_the_docs_page_in_a_browser_requests_nothing_from_third_parties(
    server: Server, tmp_path: Path
) -> None:
    # Chromium's own network log of the page: every request the page makes names it as initiator
    # (the browser's own update and account checks do not, and are not the page's doing).
    netlog = tmp_path / "netlog.json"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
    ]
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    command = [str(CHROMIUM), *flags, profile, f"--log-net-log={netlog}", "--virtual-time-budget=10000"]
    subprocess.run([*command, "--dump-dom", server.url + "/"], capture_output=True, timeout=120, check=True)
    origin = server.url.rstrip("/")
    requested = {
        event["params"]["url"]
        for event in json.loads(netlog.read_text())["events"]
        if event.get("params", {}).get("initiator") == origin and "url" in event["params"]
    }
    assert any(url.startswith(origin + "/") for url in requested), f"the page loaded nothing: {requested}"
    foreign = {url for url in requested if urlsplit(url).hostname not in ("127.0.0.1", "localhost")}
    assert not foreign, f"the docs page requested third-party URLs: {sorted(foreign)}"
