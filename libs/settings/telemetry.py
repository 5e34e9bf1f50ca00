"""Keeps MLflow, BentoML and DVC from sending usage data when the project runs them."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

TELEMETRY_OPT_OUT: dict[str, str] = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
}


def disable_telemetry(environ: MutableMapping[str, str] | None = None) -> None:
    """Sets every opt-out variable; called before the tools are imported, since they read it then."""
    target = os.environ if environ is None else environ
    target.update(TELEMETRY_OPT_OUT)
