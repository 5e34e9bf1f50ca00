"""What an agent's endpoint answers when it cannot answer with its model: 503 while its service has
no champion, 400 for rows its model cannot take; never a guess, never a 500.

A service whose champion bundle was missing or corrupt at start is alive (/healthz) but not ready
(/readyz 503, from ``LiveChampion.ready``), and the one log line says which file and why. A
request that reaches it anyway gets a 503 too, so a caller (the coordinator) sees the agent as
unavailable instead of getting a 500 or a made-up answer.
"""

from __future__ import annotations

from typing import Any

import bentoml
from starlette.responses import JSONResponse  # pants: no-infer-dep  (bentoml's own web framework)

from libs.serving.champion import Champion
from libs.serving.reload import LiveChampion, NoChampion


def serving_champion(live: LiveChampion) -> Champion:
    """The champion to answer this request with (one read: a whole batch gets one model)."""
    try:
        return live.current
    except NoChampion as missing:
        raise bentoml.exceptions.ServiceUnavailable(str(missing)) from missing


def out_of_range_message(error: ValueError, field: str) -> str:
    """Why rows that passed validation cannot be taken by the model: scikit-learn refuses features
    beyond float range (e.g. 1e308, or a ratio over a denormal)."""
    return f"{field}: values out of the model's numeric range ({error})"


def out_of_range(error: ValueError, field: str) -> Any:
    """The 400 for such rows, as BentoML's own 400s look; BentoML passes a returned response through
    as is. (A batchable endpoint cannot return one: it raises ``InvalidArgument`` with the message.)"""
    message = out_of_range_message(error, field)
    return JSONResponse({"error": message, "detail": [{"loc": [field], "msg": message}]}, status_code=400)
