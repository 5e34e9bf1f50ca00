"""The coordinator against the three real agent services, each from its packaged PEX and a real
(tiny) champion: decisions, bad payloads, and an agent going down and coming back."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from libs.serving.testing import Server, free_port, serve

AGENTS = {
    "agent1": "services.agent1.service:TransactionSentinel",
    "agent2": "services.agent2.service:DemandForecaster",
    "agent3": "services.agent3.service:ChurnClassifier",
}
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


def pex(agent: str, name: str) -> str:
    return str(Path.cwd() / f"agents.{agent}" / f"{name}.pex")


class Agents:
    """The agent servers, restartable one at a time on their own ports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ports = {agent: free_port() for agent in AGENTS}
        self.stacks: dict[str, ExitStack] = {}
        self.servers: dict[str, Server] = {}
        for agent in AGENTS:
            subprocess.run(
                [sys.executable, pex(agent, "tiny-champion"), "--out", str(root / agent)], check=True
            )

    def start(self, agent: str) -> None:
        stack = ExitStack()
        command = [sys.executable, pex(agent, "serve"), "serve", AGENTS[agent]]
        env = {"MLOPS_CHAMPION_DIR": str(self.root / agent)}
        log = self.root / f"{agent}.log"
        self.servers[agent] = stack.enter_context(serve(command, env=env, log=log, port=self.ports[agent]))
        self.stacks[agent] = stack

    def stop(self, agent: str) -> None:
        self.stacks.pop(agent).close()

    def urls(self) -> dict[str, str]:
        return {
            f"MLOPS_{agent.upper()}_URL": f"http://127.0.0.1:{port}" for agent, port in self.ports.items()
        }


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agents]:
    running = Agents(tmp_path_factory.mktemp("agents"))
    try:
        for agent in AGENTS:
            running.start(agent)
        yield running
    finally:
        for agent in list(running.stacks):
            running.stop(agent)


@pytest.fixture(scope="module")
def coordinator(agents: Agents, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    command = [sys.executable, "-m", "bentoml", "serve", "services.coordinator.service:Coordinator"]
    env = {**agents.urls(), "PYTHONPATH": str(Path.cwd())}
    with serve(command, env=env, log=tmp_path_factory.mktemp("logs") / "coordinator.log") as running:
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
        ("/plan_restock", {"days": [DAY], "on_hand": -1.0}, "on_hand"),
        ("/plan_restock", {"days": [DAY, {**DAY, "store_id": 2}], "on_hand": 1.0}, "store_id"),
        ("/assess_customer", {"customer": {**CUSTOMER, "surprise": 1}}, "surprise"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_field(
    coordinator: Server, path: str, payload: dict[str, object], named: str
) -> None:
    reply = coordinator.post(path, payload)
    assert 400 <= reply.status < 500, reply.text
    assert named in reply.text


def test_an_agent_down_is_a_503_naming_it_and_the_coordinator_recovers(
    coordinator: Server, agents: Agents
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
