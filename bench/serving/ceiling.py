"""In-process loops: what the service's work costs without HTTP, the ceiling a server is measured against.

With ``--handler-batches``, the equal-resource ceiling: the service's own handler (validation, frame,
predict, answers, JSON) called in a tight loop on the number of requests' rows the service merged
into one call under a given concurrency; bench/serving runs one such process per server worker at
the same time, so the ceiling has the server's processes and batches, only no HTTP. Without it, the
explanatory loops: the champion's bare ``predict`` on one request's rows and on bigger batches, and
the handler on one request. Prints one JSON list of measurements on stdout.

    PEX_MODULE=bench.serving.ceiling python3.11 model-tools.pex --champion DIR --body bentoml-body.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from bench.serving.export_model import frame_of
from libs.messages import DemandBatch, DemandForecast
from libs.modelfiles.bundle import CHAMPION_DIR_VARIABLE, read_champion_bundle
from services.agent2.service import DemandForecaster


def percentile(samples: list[float], percent: float) -> float:
    """Nearest-rank percentile, as wrk reports its own (defined for a single sample too)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def timed_loop(call: Callable[[], object], *, seconds: float, warmup: float) -> dict[str, float]:
    """Calls ``call`` back to back for ``warmup`` then ``seconds``; the latter's rate and latencies."""
    deadline = time.perf_counter() + warmup
    while time.perf_counter() < deadline:
        call()
    latencies: list[float] = []
    start = time.perf_counter()
    while (began := time.perf_counter()) - start < seconds:
        call()
        latencies.append(time.perf_counter() - began)
    return {
        "requests": len(latencies),
        "seconds": time.perf_counter() - start,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def predict_call(model: Any, rows: list[dict[str, Any]]) -> Callable[[], object]:
    """One predict on the rows, as the service makes it: on a float64 matrix in FEATURES order, built once."""
    features = frame_of(rows).to_numpy()
    return lambda: np.clip(model.predict(features), 0.0, None)


def handler_call(rows: list[dict[str, Any]]) -> Callable[[], object]:
    """What one request costs the service minus HTTP: validate, forecast, serialise the answers."""
    service = DemandForecaster()
    batch = TypeAdapter(DemandBatch)
    answers = TypeAdapter(list[DemandForecast])
    body = json.dumps(rows).encode()
    return lambda: answers.dump_json(service.forecast(batch.validate_json(body)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--champion", type=Path, required=True, help="the champion bundle's folder")
    parser.add_argument("--body", type=Path, required=True, help='the BentoML request body, {"rows": [...]}')
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--multiples", default="8,64", help="bigger batches, in requests' worth of rows")
    parser.add_argument(
        "--handler-batches", default="", help="only the handler, on each of these requests' worth of rows"
    )
    args = parser.parse_args()

    rows: list[dict[str, Any]] = json.loads(args.body.read_text(encoding="utf-8"))["rows"]
    model = read_champion_bundle(args.champion).model
    os.environ[CHAMPION_DIR_VARIABLE] = str(args.champion)  # the service loads its champion from here
    if args.handler_batches:
        loops = [
            ("in-process handler", rows * merged, handler_call(rows * merged))
            for merged in (int(text) for text in args.handler_batches.split(","))
        ]
    else:
        loops = [("in-process predict", rows, predict_call(model, rows))]
        loops += [
            ("in-process predict", rows * multiple, predict_call(model, rows * multiple))
            for multiple in (int(text) for text in args.multiples.split(",") if text)
        ]
        loops.append(("in-process handler", rows, handler_call(rows)))
    results = [
        {"contender": name, "rows": len(batch), **timed_loop(call, seconds=args.seconds, warmup=args.warmup)}
        for name, batch, call in loops
    ]
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
