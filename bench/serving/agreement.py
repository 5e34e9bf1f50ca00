"""Before any load: every server answers the benchmark's body, with the estimator's own predictions.

Throughput of a server that answers 4xx, or serves another model, would be meaningless; one request
to each proves they do the same work on the same rows.
"""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path
from typing import Any


def post(url: str, body: Path) -> Any:
    request = urllib.request.Request(  # noqa: S310  loopback http only
        url, data=body.read_bytes(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  loopback http only
        return json.loads(response.read())


def check_same(name: str, got: list[float], expected: list[float]) -> None:
    close = len(got) == len(expected) and all(
        math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-9)
        for value, want in zip(got, expected, strict=True)
    )
    if not close:
        raise SystemExit(f"{name} answered {got[:3]}... for {len(got)} rows, expected {expected[:3]}...")


def check_forecasts(name: str, url: str, body: Path, expected: list[float]) -> None:
    """A server taking the service's body at /forecast (the service, FastAPI, plain BentoML)."""
    forecasts = post(url + "/forecast", body)
    check_same(name, [forecast["predicted_quantity"] for forecast in forecasts], expected)


def check_mlflow(url: str, body: Path, expected: list[float]) -> None:
    check_same(
        "MLflow", [float(value) for value in post(url + "/invocations", body)["predictions"]], expected
    )
