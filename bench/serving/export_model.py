"""Turns agent2's champion into what the benchmark serves: an MLflow model and the request bodies.

Both servers must answer for the same fitted estimator on the same rows, so this saves the very
estimator in the champion bundle with ``mlflow.sklearn.save_model`` and writes one set of rows in
each server's own request format, plus the predictions they must both return.

    PEX_MODULE=bench.serving.export_model python3.11 model-tools.pex --champion DIR --out DIR
"""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.sklearn
import numpy as np
import pandas as pd
import skops.io as sio
from mlflow.models import infer_signature

from agents.agent2.model import FEATURES
from agents.agent2.tiny_champion import tiny_demand
from libs.modelfiles import trusted_types
from libs.modelfiles.bundle import MODEL_FILE, read_champion_bundle

INTEGER_FIELDS = ("store_id", "product_id", "day_of_week", "month")
MODEL_DIR = "mlflow-model"
BENTOML_BODY = "bentoml-body.json"
MLFLOW_BODY = "mlflow-body.json"
EXPECTED = "expected.json"
VERSIONS = "versions.json"
REPORTED = ("bentoml", "mlflow", "scikit-learn", "skops", "pandas", "numpy", "pydantic")


def request_rows(count: int, seed: int) -> list[dict[str, Any]]:
    """Valid ``DemandFeatures`` rows (a horizon of days, as the coordinator sends), ids as integers."""
    frame, _ = tiny_demand(count, seed=seed)
    return [
        {name: int(value) if name in INTEGER_FIELDS else float(value) for name, value in row.items()}
        for row in frame.to_dict("records")
    ]


def frame_of(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A batch as a DataFrame in the model's feature order, all float64 (the service's matrix, named)."""
    return pd.DataFrame(rows, columns=FEATURES).astype("float64")


def save_mlflow_model(champion_dir: Path, frame: pd.DataFrame, out: Path) -> np.ndarray:
    """Saves the champion's estimator as an MLflow sklearn model (skops); returns its predictions."""
    champion = read_champion_bundle(champion_dir)
    predicted = np.asarray(champion.model.predict(frame))  # type: ignore[attr-defined]
    untrusted = sio.get_untrusted_types(data=(champion_dir / MODEL_FILE).read_bytes())
    mlflow.sklearn.save_model(
        champion.model,
        str(out),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=trusted_types(untrusted),
        signature=infer_signature(frame, predicted),
        # Explicit, so MLflow does not load the model in a subprocess to infer them.
        pip_requirements=[f"{name}=={metadata.version(name)}" for name in ("scikit-learn", "skops")],
    )
    return predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--champion", type=Path, required=True, help="the champion bundle's folder")
    parser.add_argument("--out", type=Path, required=True, help="an empty scratch folder")
    parser.add_argument("--rows", type=int, default=28, help="rows per request")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rows = request_rows(args.rows, args.seed)
    frame = frame_of(rows)
    predicted = save_mlflow_model(args.champion, frame, args.out / MODEL_DIR)
    split = {"columns": FEATURES, "data": frame.to_numpy().tolist()}
    (args.out / BENTOML_BODY).write_text(json.dumps({"rows": rows}), encoding="utf-8")
    (args.out / MLFLOW_BODY).write_text(json.dumps({"dataframe_split": split}), encoding="utf-8")
    (args.out / EXPECTED).write_text(json.dumps(predicted.tolist()), encoding="utf-8")
    # The resolve serve.pex is built from too: the versions every contender ran.
    versions = {name: metadata.version(name) for name in REPORTED}
    (args.out / VERSIONS).write_text(json.dumps(versions), encoding="utf-8")


if __name__ == "__main__":
    main()
