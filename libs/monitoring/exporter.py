"""The monitors' latest verdicts on a Prometheus /metrics endpoint, read from their summary.json files.

Run as ``python3.11 -m libs.monitoring.exporter --dir .local/monitoring --port 9101`` from the
repository root (``scaling/prometheus`` starts it beside Prometheus). Each agent's monitor
(``agents/<agent>:monitor``) writes ``<dir>/<agent>/summary.json``; every scrape reads them again,
so a new monitor run, or a new agent, shows on the next scrape with nothing to restart. The
summary file is the one record of a run: the exporter only reformats it, so the page and the
metrics cannot disagree. Standard library only, like the retrain loop, so it runs from any
interpreter without a resolve.

Series, all gauges labelled ``agent``:

- ``monitor_drifted``: 1 when the latest run judged drift (features or predictions), else 0;
- ``monitor_exit_code``: the monitor's exit code (0 stable, 3 drifted, 4 too few rows);
- ``monitor_current_rows``, ``monitor_psi_threshold``, ``monitor_last_run_timestamp_seconds``;
- ``monitor_feature_psi`` and ``monitor_feature_drifted``, also labelled ``feature`` and ``kind``
  (``feature`` for an input column, ``prediction`` for the model's answers);
- ``monitor_result_readable``: 0 when a summary.json cannot be read (partial copy, hand edit).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SUMMARY = "summary.json"
HELP = {
    "monitor_result_readable": "1 when the agent's latest summary.json could be read.",
    "monitor_drifted": "1 when the latest monitor run judged drift, else 0.",
    "monitor_exit_code": "Exit code of the latest monitor run (0 stable, 3 drifted, 4 too few rows).",
    "monitor_current_rows": "Live rows the latest monitor run judged.",
    "monitor_psi_threshold": "PSI at or above which a feature counts as drifted.",
    "monitor_last_run_timestamp_seconds": "When the latest monitor run wrote its summary (Unix time).",
    "monitor_feature_psi": "Population stability index of a feature (or the predictions), latest run.",
    "monitor_feature_drifted": "1 when the feature (or the predictions) drifted in the latest run.",
}


def render(directory: Path) -> str:
    """The exposition text for every ``<directory>/<agent>/summary.json``, one family at a time."""
    samples: dict[str, list[str]] = {name: [] for name in HELP}
    for agent, summary in _summaries(Path(directory)):
        readable = 0.0 if summary is None else 1.0
        samples["monitor_result_readable"].append(
            _sample("monitor_result_readable", {"agent": agent}, readable)
        )
        if summary is not None:
            for name, labels, value in _series(agent, summary):
                samples[name].append(_sample(name, labels, value))
    lines = []
    for name, rows in samples.items():
        if rows:
            lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge", *rows]
    return "\n".join(lines) + "\n" if lines else ""


def _summaries(directory: Path) -> Iterator[tuple[str, dict[str, Any] | None]]:
    for path in sorted(directory.glob(f"*/{SUMMARY}")):
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = None
        yield path.parent.name, loaded if isinstance(loaded, dict) else None


def _series(agent: str, summary: dict[str, Any]) -> Iterator[tuple[str, dict[str, str], float | None]]:
    base = {"agent": agent}
    yield "monitor_drifted", base, 1.0 if summary.get("drifted") else 0.0
    yield "monitor_exit_code", base, _number(summary.get("exit_code"))
    yield "monitor_current_rows", base, _number(summary.get("current_rows"))
    yield "monitor_psi_threshold", base, _number(summary.get("psi_threshold"))
    yield "monitor_last_run_timestamp_seconds", base, _timestamp(summary.get("generated_at"))
    results = [("feature", item) for item in summary.get("features") or []]
    if isinstance(summary.get("prediction"), dict):
        results.append(("prediction", summary["prediction"]))
    for kind, result in results:
        if not isinstance(result, dict):
            continue
        labels = {**base, "feature": str(result.get("feature")), "kind": kind}
        yield "monitor_feature_psi", labels, _number(result.get("psi"))
        yield "monitor_feature_drifted", labels, 1.0 if result.get("drifted") else 0.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _timestamp(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None


def _sample(name: str, labels: dict[str, str], value: float | None) -> str:
    """One line; a missing value (no PSI when a side had no rows) is NaN, as Prometheus writes it."""
    pairs = ",".join(f'{key}="{_escape(item)}"' for key, item in labels.items())
    if value is None or math.isnan(value):
        shown = "NaN"
    elif math.isinf(value):
        shown = "+Inf" if value > 0 else "-Inf"
    else:
        shown = repr(value)
    return f"{name}{{{pairs}}} {shown}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def make_server(directory: Path, host: str, port: int) -> ThreadingHTTPServer:
    """A server answering ``GET /metrics`` (anything else is a 404); call ``serve_forever`` on it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404, "only /metrics is served")
                return
            body = render(directory).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            """Quiet: a scrape every few seconds would fill the log."""

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="libs.monitoring.exporter", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(".local") / "monitoring", help="monitors' output")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9101)
    args = parser.parse_args(argv)
    with make_server(args.dir, args.host, args.port) as server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
