"""How many requests BentoML merged into each call, from its own Prometheus counters.

BentoML observes every merged call's request count in ``bentoml_service_adaptive_batch_size``; its
``_sum`` and ``_count`` read before and after a load run give the mean merge under that load, which
is what the equal-resource ceiling replays in process. Standard library only.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

METRIC = "bentoml_service_adaptive_batch_size"


@dataclass(frozen=True)
class MergedCalls:
    requests: float  # requests merged, summed over calls
    calls: float

    def since(self, before: MergedCalls) -> float | None:
        """Mean requests per merged call between ``before`` and this reading; None when the server
        counted no calls (never a silent 1.0: the report must say the merge was not observed)."""
        calls = self.calls - before.calls
        return (self.requests - before.requests) / calls if calls > 0 else None


def read(url: str) -> MergedCalls:
    """Sums the histogram's ``_sum`` and ``_count`` over every worker and method of the server at ``url``."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:  # noqa: S310  loopback only
        text = response.read().decode()
    totals = {"_sum": 0.0, "_count": 0.0}
    for line in text.splitlines():
        for suffix in totals:
            if line.startswith(METRIC + suffix + "{") or line.startswith(METRIC + suffix + " "):
                totals[suffix] += float(line.rsplit(" ", 1)[1])
    return MergedCalls(totals["_sum"], totals["_count"])
