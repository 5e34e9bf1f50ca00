"""What an agent's endpoint answers while its service has no champion: 503, never a guess, never a 500.

A service whose champion bundle was missing or corrupt at start is alive (/healthz) but not ready
(/readyz 503, from ``LiveChampion.ready``), and the one log line says which file and why. A
request that reaches it anyway gets a 503 too, so a caller (the coordinator) sees the agent as
unavailable instead of getting a 500 or a made-up answer.
"""

from __future__ import annotations

import bentoml

from libs.modelfiles.bundle import Champion
from libs.serving.reload import LiveChampion, NoChampion


def serving_champion(live: LiveChampion) -> Champion:
    """The champion to answer this request with (one read: a whole batch gets one model)."""
    try:
        return live.current
    except NoChampion as missing:
        raise bentoml.exceptions.ServiceUnavailable(str(missing)) from missing
