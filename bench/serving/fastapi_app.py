"""Contender: the endpoint a team writes when it skips a serving framework, FastAPI under uvicorn.

The same champion, request body (``{"rows": [...]}``, the same pydantic row type) and answers as
agent2's service, with none of its machinery: no batching, guards, reloads or prediction logging.
One predict per request, in FastAPI's thread pool (a plain ``def`` endpoint).

    PEX_MODULE=uvicorn python3.11 model-tools.pex bench.serving.fastapi_app:app --workers 2 --port P
"""

from __future__ import annotations

from fastapi import FastAPI  # pants: no-infer-dep  (in agent2's lockfile with MLflow's scoring server)
from pydantic import BaseModel

from bench.serving import plain_forecast
from libs.messages import DemandBatch, DemandForecast
from libs.modelfiles.bundle import champion_dir, read_champion_bundle
from libs.serving.features import ignore_unnamed_features_warning

ignore_unnamed_features_warning()
champion = read_champion_bundle(champion_dir("agent2"))  # MLOPS_CHAMPION_DIR, as the service reads it
app = FastAPI()


class ForecastRequest(BaseModel):
    rows: DemandBatch


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/forecast")
def forecast(request: ForecastRequest) -> list[DemandForecast]:
    """One predict on the request's rows; the answers name the model, as the service's do."""
    return plain_forecast.forecast(champion, request.rows)
