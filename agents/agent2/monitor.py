"""agent2's drift monitor: `./pants run agents/agent2:monitor -- [--since DATE]` (libs.monitoring.monitor)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error

from agents.agent2.model import FEATURES, TARGET
from libs.monitoring.monitor import AgentMonitor, main


def predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """As the service answers: demand is never negative."""
    return np.clip(model.predict(frame), 0.0, None)


MONITOR = AgentMonitor(
    agent="agent2",
    features=FEATURES,
    predict=predict,
    label=TARGET,
    metric=mean_absolute_error,
    metric_name="mae",
)

if __name__ == "__main__":
    sys.exit(main(MONITOR, sys.argv[1:]))
