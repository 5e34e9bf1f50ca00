"""The coordinator against the three real agent services, each from its packaged PEX and a real
(tiny) champion: decisions, bad payloads, its text log, and an agent going down and coming back."""

import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from libs.serving.limits import DEFAULT_MAX_BODY_BYTES
from services.coordinator.service import MAX_HORIZON_DAYS
from tests.support.serving import (
    COORDINATOR_SERVICE,
    Fleet,
    Reply,
    Server,
    check_no_pickles,
    free_port,
    listening_hosts,
    niceness_of_descendants,
    running_fleet,
    serve,
    wait_for,
)

ENDPOINTS = ("/screen_transaction", "/plan_restock", "/assess_customer", "/agents_status")

TRANSACTION = {
    "transaction_id": 1,
    "log_amount": 3.2,
    "quantity": 2.0,
    "price_ratio": 1.0,
    "hour_of_day": 12.0,
    "amount_zscore": 0.1,
}
DAY = {
    "store_id": 1,
    "product_id": 2,
    "lag_1": 3.0,
    "lag_7": 4.0,
    "day_of_week": 2,
    "month": 5,
    "promo_share": 0.1,
}
CUSTOMER = {
    "customer_id": 9,
    "revenue": 120.0,
    "visits": 10.0,
    "recency_days": 40.0,
    "tenure_days": 300.0,
    "observed_days": 200.0,
    "avg_basket": 12.0,
    "distinct_products": 5.0,
    "visits_last_28d": 0.0,
    "visits_prior_28d": 3.0,
    "is_budget": 1.0,
    "is_premium": 0.0,
}


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with running_fleet(Path.cwd(), tmp_path_factory.mktemp("agents")) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def coordinator(agents: Fleet) -> Iterator[Server]:
    command = [sys.executable, "-m", "bentoml", "serve", COORDINATOR_SERVICE]
    env = {"PYTHONPATH": str(Path.cwd()), "MLOPS_LOG_FORMAT": "text"}  # the default, said: its log is read
    with agents.coordinator(command, env=env) as running:
        yield running


def test_decisions_come_from_the_agents_and_name_their_models(coordinator: Server) -> None:
    screened = coordinator.post("/screen_transaction", {"transaction": TRANSACTION})
    assert screened.status == 200, screened.text
    assert screened.body["action"] in {"allow", "review"}
    assert screened.body["model_name"] == "agent1-transaction-sentinel"

    plan = coordinator.post("/plan_restock", {"days": [DAY, {**DAY, "day_of_week": 3}], "on_hand": 0.0})
    assert plan.status == 200, plan.text
    assert plan.body["restock_quantity"] >= round(plan.body["forecast_quantity"])
    assert plan.body["model_name"] == "agent2-demand-forecaster"

    assessed = coordinator.post("/assess_customer", {"customer": CUSTOMER})
    assert assessed.status == 200, assessed.text
    assert 0.0 <= assessed.body["churn_probability"] <= 1.0
    assert assessed.body["model_name"] == "agent3-churn-classifier"


@pytest.mark.parametrize(
    ("path", "payload", "named"),
    [
        ("/screen_transaction", {"transaction": {**TRANSACTION, "log_amount": "lots"}}, "log_amount"),
        ("/plan_restock", {"days": [], "on_hand": 1.0}, "days"),
        ("/plan_restock", {"days": [DAY] * (MAX_HORIZON_DAYS + 1), "on_hand": 1.0}, "days"),
        ("/plan_restock", {"days": [DAY], "on_hand": True}, "on_hand"),
        ("/plan_restock", {"days": [DAY], "on_hand": -1.0}, "on_hand"),
        ("/plan_restock", {"days": [DAY, {**DAY, "store_id": 2}], "on_hand": 1.0}, "store_id"),
        ("/assess_customer", {"customer": {**CUSTOMER, "surprise": 1}}, "surprise"),
        # Valid, but beyond what the model can take once transformed: agent3's 400, passed on.
        ("/assess_customer", {"customer": {**CUSTOMER, "revenue": 1e15, "visits": 1e-300}}, "agent3"),
        ("/plan_restock", {"days": [DAY], "on_hand": 1.0, "safety_stok": 1000}, "safety_stok"),
        ("/assess_customer", {"customer": CUSTOMER, "customers": [CUSTOMER]}, "customers"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_field(
    coordinator: Server, path: str, payload: dict[str, object], named: str
) -> None:
    reply = coordinator.post(path, payload)
    assert 400 <= reply.status < 500, reply.text
    assert isinstance(reply.body, dict) and named in reply.body["error"] + json.dumps(
        reply.body.get("detail")
    )


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_refuses_a_body_over_the_limit_with_413(coordinator: Server, path: str) -> None:
    reply = coordinator.post(path, raw=b" " * (DEFAULT_MAX_BODY_BYTES + 1))
    assert reply.status == 413 and "exceeds the limit" in reply.body["error"], reply.text
    assert coordinator.ready()


def test_no_request_body_is_unpickled(coordinator: Server, tmp_path: Path) -> None:
    check_no_pickles(coordinator, "/assess_customer", tmp_path)


def test_binds_to_loopback_unless_told_a_host(agents: Fleet, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "bentoml", "serve", COORDINATOR_SERVICE]
    env = {**agents.urls(), "PYTHONPATH": str(Path.cwd())}
    with serve(command, env=env, log=tmp_path / "coordinator.log", port=port, host=None):
        assert listening_hosts(port) == {"127.0.0.1"}


# A request path that, unescaped, would write a second record of its own into the text log: a newline,
# a timestamp and level, an ANSI colour, NUL, and every other kind of line break.
FORGED_PATH = "/x%0a2026-12-07T17:59:59+0000%20%5BERROR%5D%20FORGED%1b%5B31m%00%0d%09%e2%80%a8%c2%85%0b"
CONTROL_CHARACTERS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def test_a_request_path_cannot_forge_a_log_line(coordinator: Server) -> None:
    assert coordinator.get(FORGED_PATH).status == 404

    def logged() -> str | None:
        text = coordinator.log.read_text(errors="replace")
        return text if "FORGED" in text else None

    log = wait_for(logged, what="the request in the access log")
    lines = [line for line in log.splitlines() if "FORGED" in line]
    assert len(lines) == 1, lines
    escaped = "/x\\n2026-12-07T17:59:59+0000 [ERROR] FORGED\\x1b[31m\\x00\\r\\t\\u2028\\x85\\x0b"
    assert escaped in lines[0] and "[INFO]" in lines[0] and "status=404" in lines[0], lines[0]
    assert not CONTROL_CHARACTERS.search(log), "raw control characters in the log"


def test_an_agent_down_is_a_503_naming_it_and_the_coordinator_recovers(
    coordinator: Server, agents: Fleet
) -> None:
    agents.stop("agent2")
    try:
        down = coordinator.post("/plan_restock", {"days": [DAY], "on_hand": 0.0})
        assert down.status == 503, down.text
        assert down.body["agent"] == "agent2" and "demand forecaster" in down.body["error"]
        assert coordinator.post("/screen_transaction", {"transaction": TRANSACTION}).status == 200
        assert coordinator.post("/agents_status", {}).body == {
            "agent1": "ready",
            "agent2": "down",
            "agent3": "ready",
        }
        # Alive, but BentoML's readiness includes the dependencies: not ready while one is down.
        assert coordinator.get("/healthz").status == 200
        assert not coordinator.ready()
    finally:
        agents.start("agent2")
    back = coordinator.post("/plan_restock", {"days": [DAY], "on_hand": 0.0})
    assert back.status == 200, back.text
    assert coordinator.ready()


def _timed_readiness(coordinator: Server) -> tuple[float, Reply]:
    started = time.monotonic()
    reply = coordinator.get("/readyz")
    return time.monotonic() - started, reply


def test_readiness_answers_at_once_naming_an_agent_down_or_hung(coordinator: Server, agents: Fleet) -> None:
    assert coordinator.ready()
    agents.stop("agent3")  # refuses connections
    try:
        seconds, reply = _timed_readiness(coordinator)
        assert reply.status == 503 and seconds < 2.5, (seconds, reply)
        assert reply.headers.get("retry-after") and reply.body["agents"] == {"agent3": "down"}, reply
        assert "agent3 (churn classifier)" in reply.body["error"], reply
    finally:
        agents.start("agent3")
    wait_for(coordinator.ready, timeout_s=10, what="readiness once agent3 is back")

    hung = niceness_of_descendants(agents.servers["agent1"].process)  # its workers: accept, never answer
    for pid in hung:
        os.kill(pid, signal.SIGSTOP)
    try:
        seconds, reply = _timed_readiness(coordinator)
        assert reply.status == 503 and seconds < 2.5, (seconds, reply)
        assert reply.body["agents"] == {"agent1": "down"}, reply
    finally:
        for pid in hung:
            os.kill(pid, signal.SIGCONT)
    wait_for(coordinator.ready, timeout_s=10, what="readiness once agent1 answers again")
