"""What a run read and how it scored, in MLflow's own terms: dataset inputs and flat metrics.

Each input file becomes an MLflow dataset named by its path, with DVC's md5 (the lineage's data
hash) as digest, so the MLflow UI lists what a model was trained on and `dvc` can fetch exactly
those bytes. Every numeric value of an evaluation's metrics file becomes a metric, not only the
one the gate compares.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset

from libs.tracking.lineage import Lineage, data_name

TRAINING = "training"


def log_data_inputs(paths: Sequence[Path], lineage: Lineage, *, context: str = TRAINING) -> None:
    """Logs into the active run; ``lineage`` must hold each path's hash (collect_lineage of ``paths``)."""
    for path in paths:
        name = data_name(path)
        source = resolve_dataset_source(str(Path(path).resolve()))
        # MLflow types `profile` as abstract on Dataset; MetaDataset, its documented API, has none.
        dataset = MetaDataset(source=source, name=name, digest=lineage.data_hashes[name])  # type: ignore[abstract]
        mlflow.log_input(dataset, context=context)


def numeric_leaves(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """Dotted names of every number in a nested metrics mapping (strings and flags are skipped)."""
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from numeric_leaves(value, prefix=f"{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield name, float(value)


def log_evaluation_metrics(metrics: Mapping[str, Any]) -> None:
    mlflow.log_metrics(dict(numeric_leaves(metrics)))
