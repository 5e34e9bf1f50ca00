"""agent3's drift monitor: `./pants run agents/agent3:monitor -- [--since DATE]` (libs.monitoring.monitor)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from agents.agent3.model import FEATURES, TARGET
from libs.features import FormulaTransformer  # noqa: F401  the champion pipeline holds one; skops needs it
from libs.monitoring.monitor import AgentMonitor, main


def predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(frame)[:, 1], dtype="float64")


MONITOR = AgentMonitor(
    agent="agent3",
    features=FEATURES,
    predict=predict,
    label=TARGET,
    metric=roc_auc_score,
    metric_name="roc_auc",
)

if __name__ == "__main__":
    sys.exit(main(MONITOR, sys.argv[1:]))
