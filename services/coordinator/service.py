"""The coordinator: business decisions composed from the three agent services.

The agents are composed with BentoML's `bentoml.depends(url=...)`, so each agent runs (and ships)
as its own service and image, and the coordinator needs none of their code or dependencies.
BentoML connects to every dependency when the coordinator starts, so start the agents first; its
/readyz is true only while all of them are. An agent that goes down later makes only the decisions
that need it answer 503, naming the agent; the connection is retried on every call, so the
coordinator recovers by itself once the agent is back.

/readyz asks the agents itself (``__is_ready__``), all at once and for at most
``READINESS_TIMEOUT_S``: a 503 naming the agents not ready, within the Docker health check's 2 s.
BentoML's own dependency probe is off: it let a refused connection escape as an exception, which
its timeout middleware then held for the whole request timeout (60 s) before answering 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import bentoml
from bentoml.exceptions import BentoMLException
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException  # pants: no-infer-dep  (bentoml's own web framework)
from starlette.responses import JSONResponse  # pants: no-infer-dep  (bentoml's own web framework)

from libs.messages import (
    MAX_FEATURE,
    ChurnAssessment,
    CustomerFeatures,
    DemandFeatures,
    DemandForecast,
    ScreeningResult,
    TransactionFeatures,
)
from libs.serving.collector import settle_heap
from libs.serving.http import http_service
from libs.serving.predictions import ServicePredictions
from libs.settings import Settings

AGENTS = {
    "agent1": "transaction sentinel",
    "agent2": "demand forecaster",
    "agent3": "churn classifier",
}
MAX_HORIZON_DAYS = 28
# How long /readyz and /agents_status wait for an agent's /readyz: all are asked at once. A busy
# agent's event loop can take over a second to answer; the images' health check allows /readyz 2 s.
READINESS_TIMEOUT_S = 1.5
log = logging.getLogger(__name__)
T = TypeVar("T")


def agent_url(agent: str) -> str:
    """``MLOPS_<AGENT>_URL`` if set (containers set it), else the agent's port on the serve host."""
    configured = os.environ.get(f"MLOPS_{agent.upper()}_URL")
    if configured:
        return configured
    settings = Settings()
    return f"http://{settings.serve_host}:{settings.service_port(int(agent.removeprefix('agent')))}"


class AgentUnavailable(BaseModel):
    """The answer naming the agent that was down (503) or refused (400). BentoML hides the message
    of any 5xx it raises, so this one is returned."""

    error: str
    agent: str


class AgentDown(Exception):
    """The agent could not be reached or failed: a 503 naming it."""

    status = 503

    def __init__(self, agent: str, cause: BaseException) -> None:
        # The caller learns which agent; where it runs and how it failed stay in the coordinator's log.
        super().__init__(f"{agent} ({AGENTS[agent]}) is unavailable")
        self.agent = agent
        log.warning("%s at %s: %s: %s", self, agent_url(agent), type(cause).__name__, str(cause)[:200])

    def answer(self, ctx: bentoml.Context) -> Any:
        """The error as a response BentoML passes through as is. Endpoints declare only their decision
        as their return type: BentoML 1.4 cannot document a union (its /docs.json fails)."""
        ctx.response.status_code = self.status
        body = AgentUnavailable(error=str(self), agent=self.agent)
        return JSONResponse(body.model_dump(), status_code=self.status)


class AgentRefused(AgentDown):
    """The agent answered 4xx (rows its model cannot take): the caller's request is at fault, a 400."""

    status = 400

    def __init__(self, agent: str, cause: BentoMLException) -> None:
        Exception.__init__(self, f"{agent} ({AGENTS[agent]}) refused the request: {cause}")
        self.agent = agent


def _one_series(days: list[DemandFeatures]) -> list[DemandFeatures]:
    """A horizon is one store and product: checked in validation, so the 400 names ``days``."""
    if len({(day.store_id, day.product_id) for day in days}) != 1:
        raise ValueError("every day must be for the same store_id and product_id")
    return days


Horizon = Annotated[
    list[DemandFeatures], Field(min_length=1, max_length=MAX_HORIZON_DAYS), AfterValidator(_one_series)
]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    action: str
    reason: str
    model_name: str
    model_version: str


D = TypeVar("D", bound=Decision)


class TransactionDecision(Decision):
    transaction_id: int
    anomaly_score: float


class RestockPlan(Decision):
    store_id: int
    product_id: int
    forecast_quantity: float
    restock_quantity: int


class CustomerDecision(Decision):
    customer_id: int
    churn_probability: float


# One worker: the coordinator only awaits the agents, and each worker holds its own connections.
# BentoML's dependency probe is off: ``__is_ready__`` asks the agents instead (see the module's doc).
@http_service("coordinator", timeout_s=60, workers=1, runner_probe={"enabled": False})
class Coordinator:
    agent1 = bentoml.depends(url=agent_url("agent1"))
    agent2 = bentoml.depends(url=agent_url("agent2"))
    agent3 = bentoml.depends(url=agent_url("agent3"))

    def __init__(self) -> None:
        self.review_threshold = float(os.environ.get("MLOPS_REVIEW_THRESHOLD", "0.99"))
        self.retention_threshold = float(os.environ.get("MLOPS_RETENTION_THRESHOLD", "0.3"))
        # Every decision, with the agent model version it rests on, logged as agents log answers.
        self.decisions = ServicePredictions("coordinator")
        settle_heap()  # last: what __init__ loaded stays out of every later collection

    @bentoml.on_shutdown
    def close(self) -> None:
        self.decisions.close()

    async def __is_ready__(self) -> bool:
        """Ready while every agent is; else a 503 naming the others (``Retry-After`` comes from
        ``libs.serving.guards``). BentoML calls this for /readyz and returns a 503 for False
        without saying why, so the answer is raised instead."""
        states = await self._agent_states()
        waiting = {agent: state for agent, state in states.items() if state != "ready"}
        if not waiting:
            return True
        named = ", ".join(f"{agent} ({AGENTS[agent]}) is {state}" for agent, state in waiting.items())
        body = {"error": f"not ready: {named}", "agents": waiting}
        raise HTTPException(503, detail=json.dumps(body), headers={"content-type": "application/json"})

    async def _agent_states(self) -> dict[str, str]:
        """Each agent's ``ready``, ``not ready`` (its /readyz said no) or ``down`` (no answer in time)."""

        async def state(agent: str) -> str:
            try:
                async with asyncio.timeout(READINESS_TIMEOUT_S):
                    ready = await getattr(self, agent).is_ready(timeout=READINESS_TIMEOUT_S)
            except Exception:  # a refused connection or a timeout: the agent is not answering
                return "down"
            return "ready" if ready else "not ready"

        return dict(zip(AGENTS, await asyncio.gather(*map(state, AGENTS)), strict=True))

    def _logged(self, inputs: dict[str, Any], decision: D, started: float) -> D:
        """The decision, logged with the agent model that it rests on."""
        self.decisions.log_answers(
            [inputs],
            [decision.action],
            model_name=decision.model_name,
            model_version=decision.model_version,
            started=started,
        )
        return decision

    async def _call(self, agent: str, endpoint: str, parse: Callable[[Any], T], **payload: Any) -> T:
        """Calls an agent; a 4xx from it is a 400 naming it, any other failure a 503 naming it.

        A call that fails before the agent answers (a pooled keep-alive connection the agent had
        just closed) is tried once more: predictions are idempotent, and under load this happens."""
        method: Callable[..., Awaitable[Any]] = getattr(getattr(self, agent).to_async, endpoint)
        for attempt in (1, 2):
            try:
                answer = await method(**payload)
                break
            except BentoMLException as error:
                if 400 <= error.error_code < 500:
                    raise AgentRefused(agent, error) from error
                raise AgentDown(agent, error) from error
            except Exception as error:  # every way of not reaching the agent means the same to the caller
                if attempt == 2:
                    raise AgentDown(agent, error) from error
        try:
            return parse(answer)
        except (
            ValidationError
        ) as error:  # an answer the coordinator cannot read: the agent's fault, not the caller's
            raise AgentDown(agent, error) from error

    @bentoml.api
    async def screen_transaction(
        self, transaction: TransactionFeatures, ctx: bentoml.Context
    ) -> TransactionDecision:
        started = time.perf_counter()
        try:
            results = await self._call(
                "agent1",
                "score",
                lambda answer: [ScreeningResult.model_validate(item) for item in answer],
                transactions=[transaction.model_dump()],
            )
        except AgentDown as down:
            return down.answer(ctx)
        result = results[0]
        review = result.is_flagged or result.anomaly_score >= self.review_threshold
        decision = TransactionDecision(
            transaction_id=transaction.transaction_id,
            anomaly_score=result.anomaly_score,
            action="review" if review else "allow",
            reason=f"anomaly score {result.anomaly_score:.3f}"
            + (" is flagged by the sentinel" if review else " is within normal range"),
            model_name=result.model_name,
            model_version=result.model_version,
        )
        return self._logged(transaction.model_dump(), decision, started)

    @bentoml.api
    async def plan_restock(
        self,
        days: Horizon,
        on_hand: Annotated[float, Field(ge=0, le=MAX_FEATURE, allow_inf_nan=False, strict=True)],
        ctx: bentoml.Context,
        safety_stock: Annotated[float, Field(ge=0, le=MAX_FEATURE, allow_inf_nan=False, strict=True)] = 0.0,
    ) -> RestockPlan:
        started = time.perf_counter()
        try:
            forecasts = await self._call(
                "agent2",
                "forecast",
                lambda answer: [DemandForecast.model_validate(item) for item in answer],
                rows=[day.model_dump() for day in days],
            )
        except AgentDown as down:
            return down.answer(ctx)
        total = sum(forecast.predicted_quantity for forecast in forecasts)
        restock = max(0, math.ceil(total + safety_stock - on_hand))
        store_id, product_id = days[0].store_id, days[0].product_id
        plan = RestockPlan(
            store_id=store_id,
            product_id=product_id,
            forecast_quantity=total,
            restock_quantity=restock,
            action="restock" if restock else "hold",
            reason=f"{total:.1f} units forecast over {len(days)} days against {on_hand:g} on hand"
            f" and {safety_stock:g} safety stock",
            model_name=forecasts[0].model_name,
            model_version=forecasts[0].model_version,
        )
        inputs = {"store_id": store_id, "product_id": product_id, "days": len(days), "on_hand": on_hand}
        return self._logged({**inputs, "safety_stock": safety_stock}, plan, started)

    @bentoml.api
    async def assess_customer(self, customer: CustomerFeatures, ctx: bentoml.Context) -> CustomerDecision:
        started = time.perf_counter()
        try:
            assessments = await self._call(
                "agent3",
                "assess",
                lambda answer: [ChurnAssessment.model_validate(item) for item in answer],
                customers=[customer.model_dump()],
            )
        except AgentDown as down:
            return down.answer(ctx)
        assessment = assessments[0]
        at_risk = assessment.churn_probability >= self.retention_threshold
        decision = CustomerDecision(
            customer_id=customer.customer_id,
            churn_probability=assessment.churn_probability,
            action="retention offer" if at_risk else "no action",
            reason=f"churn probability {assessment.churn_probability:.2f}"
            f" {'at or above' if at_risk else 'below'} {self.retention_threshold:g}",
            model_name=assessment.model_name,
            model_version=assessment.model_version,
        )
        return self._logged(customer.model_dump(), decision, started)

    @bentoml.api
    async def agents_status(self) -> dict[str, str]:
        """Each agent's readiness as the coordinator sees it (its own /readyz needs all of them)."""
        return await self._agent_states()
