"""agent1's monitor: `./pants run agents/agent1:monitor -- [--since DATE]` (see libs/monitoring/monitor.py).

Anomaly labels are rare and late, so it watches inputs and scores only.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd

from agents.agent1.model import FEATURES
from libs.monitoring.monitor import AgentMonitor, main


def predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(frame), dtype="float64")


MONITOR = AgentMonitor(agent="agent1", features=FEATURES, predict=predict)

if __name__ == "__main__":
    sys.exit(main(MONITOR, sys.argv[1:]))
