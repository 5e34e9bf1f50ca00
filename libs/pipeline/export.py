"""The export stage: copy the registry's current champion into the agent's champion bundle.

Images and services read the bundle, not the registry, so they run without MLflow. The stage runs
after ``register``; after a rollback (``libs/tracking:cli -- rollback``) rerun it with
``dvc repro -f -s pipelines/<agent>/dvc.yaml:export`` to ship the restored champion.
"""

from __future__ import annotations

from libs.modelfiles.bundle import champion_dir, write_champion
from libs.pipeline.context import StageContext
from libs.pipeline.registration import load_champion


def export_champion(ctx: StageContext, model_name: str) -> None:
    current = load_champion(model_name)
    if current is None:
        raise RuntimeError(f"no champion registered for {model_name}; run the register stage first")
    model, version = current
    directory = write_champion(
        model, model_name=model_name, model_version=version, directory=champion_dir(ctx.agent)
    )
    print(f"{model_name}: champion v{version} exported to {directory}")
