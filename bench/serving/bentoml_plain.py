"""Contender: agent2's model behind BentoML as its quickstart writes a service, without adaptive batching.

The same champion, request body and answers as agent2's service, but a plain ``bentoml.service``
with one predict per request: no batching, guards, reloads or prediction logging. Its worker count
comes from ``MLOPS_SERVE_WORKERS``, as the service's does, so both run on the same processes.

    PEX_MODULE=bentoml_cli.cli:cli python3.11 model-tools.pex serve \\
        bench.serving.bentoml_plain:PlainForecaster
"""

from __future__ import annotations

import os

import bentoml

from bench.serving import plain_forecast
from libs.messages import DemandBatch, DemandForecast
from libs.modelfiles.bundle import champion_dir, read_champion_bundle
from libs.serving.features import ignore_unnamed_features_warning

ignore_unnamed_features_warning()


@bentoml.service(workers=int(os.environ.get("MLOPS_SERVE_WORKERS", "1")))
class PlainForecaster:
    def __init__(self) -> None:
        self.champion = read_champion_bundle(champion_dir("agent2"))

    @bentoml.api
    def forecast(self, rows: DemandBatch) -> list[DemandForecast]:
        """One predict on the request's rows; the answers name the model, as the service's do."""
        return plain_forecast.forecast(self.champion, rows)
