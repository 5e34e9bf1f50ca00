"""What a version's training run recorded, as ``cli show`` prints it under the version.

The lineage tags (commit, clean tree, data hashes, lockfile), every logged metric, the inputs and
the artifacts a reviewer opens (the params file, the evaluation plots): enough to judge a model,
or reproduce it, without the MLflow UI.
"""

from __future__ import annotations

from mlflow import MlflowClient

from libs.tracking.lineage import TAG_PREFIX

RECORDED_ARTIFACT_DIRS = ("params", "plots")


def _artifacts(client: MlflowClient, run_id: str) -> list[str]:
    return [
        entry.path
        for directory in RECORDED_ARTIFACT_DIRS
        for entry in client.list_artifacts(run_id, directory)
        if not entry.is_dir
    ]


def describe_run(client: MlflowClient, run_id: str, indent: str = "      ") -> list[str]:
    """One line per lineage tag, metric, input and recorded artifact of the run."""
    run = client.get_run(run_id)
    tags = run.data.tags
    lines = [f"{indent}{key}={tags[key]}" for key in sorted(tags) if key.startswith(TAG_PREFIX)]
    lines.extend(f"{indent}metric {name}={value!r}" for name, value in sorted(run.data.metrics.items()))
    if run.inputs is not None:
        lines.extend(
            f"{indent}input {logged.dataset.name} (md5 {logged.dataset.digest})"
            for logged in run.inputs.dataset_inputs
        )
    lines.extend(f"{indent}artifact {path}" for path in _artifacts(client, run_id))
    return lines
