"""Prometheus, started by ``scaling/prometheus``, against real services on loopback.

The three agents run from their packaged PEXes with tiny real champions (``running_fleet``);
Prometheus scrapes them and the drift exporter every second. The test checks that the rules read
series the services really expose (request counts, latency, dropped prediction logs), that a
drifted monitor summary fires ``DriftDetected``, and that stopping one agent fires its
``ServiceNotReady`` alert (30 s ``for``) and no other agent's.

Skips only when Debian's prometheus package is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.scaling.servers import started
from tests.support.serving import free_port, running_fleet, wait_for

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus is not installed (apt-get install -y prometheus)"
)


def _query(url: str, expression: str) -> list[dict[str, Any]]:
    address = f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(address, timeout=10) as response:  # noqa: S310  loopback http only
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def _firing(url: str, alert: str, label: str = "service") -> set[str]:
    """The ``label`` of every firing instance of ``alert``."""
    rows = _query(url, f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
    return {row["metric"].get(label, "") for row in rows}


def _drifted_summary(home: Path) -> None:
    """agent2's monitor summary as ``run_monitor`` writes it, judged drifted."""
    folder = home / "monitoring" / "agent2"
    folder.mkdir(parents=True)
    summary = {
        "agent": "agent2",
        "generated_at": "2026-01-02T03:04:05+00:00",
        "exit_code": 3,
        "current_rows": 400,
        "drifted": True,
        "psi_threshold": 0.2,
        "features": [{"feature": "price", "psi": 0.9, "drifted": True}],
    }
    (folder / "summary.json").write_text(json.dumps(summary))


def test_a_stopped_agent_fires_its_not_ready_alert(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _drifted_summary(home)
    with running_fleet(Path.cwd(), tmp_path / "fleet") as fleet:
        addresses = {agent: server.url.removeprefix("http://") for agent, server in fleet.servers.items()}
        env = {
            "MLOPS_PROMETHEUS_TARGETS": " ".join(
                f"{agent}={address}" for agent, address in addresses.items()
            ),
            "MLOPS_PROMETHEUS_INTERVAL": "1s",
            "MLOPS_HOME": str(home),
        }
        with started("prometheus", tmp_path / "prometheus", str(free_port()), env=env) as url:

            def refused_requests() -> None:
                for _ in range(5):  # refused (400) requests: traffic on /score, not probes
                    assert fleet.servers["agent1"].post("/score", {}).status == 400

            def ready_targets() -> bool:
                rows = _query(url, 'up{job="readiness"} == 1')
                return {row["metric"]["service"] for row in rows} == set(addresses)

            refused_requests()
            wait_for(ready_targets, timeout_s=30, what="every agent scraped as ready")
            buckets = 'bentoml_service_request_duration_seconds_bucket{service="agent1", endpoint="/score"}'
            wait_for(lambda: _query(url, buckets), timeout_s=30, what="agent1's latency histogram")
            # rate() needs a series to grow between two scrapes; its first sample is no increase.
            refused_requests()
            # The recording rules find the series the services really expose.
            wait_for(
                lambda: _query(url, 'service:requests:rate5m{service="agent1"} > 0'),
                timeout_s=30,
                what="agent1's request rate",
            )
            wait_for(
                lambda: _query(url, 'service:latency_p99_seconds:rate5m{service="agent1"} >= 0'),
                timeout_s=30,
                what="agent1's p99 latency",
            )
            dropped = _query(url, "prediction_log_dropped_total")
            assert {row["metric"]["service"] for row in dropped} == set(addresses)
            assert not _query(url, 'service:error_ratio:rate5m{service="agent1"} > 0')
            drifted = lambda: _firing(url, "DriftDetected", "agent") == {"agent2"}  # noqa: E731
            wait_for(drifted, timeout_s=30, what="DriftDetected")
            assert _firing(url, "ServiceNotReady") == set()

            stopped = time.monotonic()
            fleet.stop("agent2")
            wait_for(
                lambda: "agent2" in _firing(url, "ServiceNotReady"),
                timeout_s=60,
                what="ServiceNotReady for agent2",
            )
            waited = time.monotonic() - stopped
            assert _firing(url, "ServiceNotReady") == {"agent2"}
            assert waited >= 30, f"fired after {waited:.1f} s, before its 30 s `for`"
            print(f"ServiceNotReady fired {waited:.1f} s after agent2 stopped")
