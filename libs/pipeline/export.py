"""The export stage: copy the registry's current champion (and shadow) into the agent's bundles.

Images and services read the bundle, not the registry, so they run without MLflow. The stage runs
after ``register``; after a rollback, approval, rejection or promotion by hand
(``libs/tracking:cli -- rollback|approve|reject|promote|shadow``) rerun it with
``dvc repro -f -s pipelines/<agent>/dvc.yaml:export`` to ship the registry's new state. The shadow
bundle is written when the registry has a shadow and removed when it has none, identity file first,
so a running service stops scoring a shadow that is gone.
"""

from __future__ import annotations

import json
import shutil

from libs.modelfiles.bundle import IDENTITY_FILE, champion_dir, shadow_dir, write_champion
from libs.pipeline.context import StageContext
from libs.pipeline.registration import load_champion


def export_champion(ctx: StageContext, model_name: str) -> None:
    current = load_champion(model_name)
    if current is None:
        raise RuntimeError(f"no champion registered for {model_name}: {_why_none(ctx)}")
    model, version = current
    directory = write_champion(
        model, model_name=model_name, model_version=version, directory=champion_dir(ctx.agent)
    )
    print(f"{model_name}: champion v{version} exported to {directory}")
    export_shadow(ctx, model_name)


def _why_none(ctx: StageContext) -> str:
    """The register stage's own reason when it rejected the agent's first model."""
    registration = ctx.out("registration.json")
    if not registration.exists():
        return "run the register stage first"
    decision = json.loads(registration.read_text(encoding="utf-8"))
    if decision.get("promoted"):  # promoted, yet gone: the registry was reset or changed by hand
        return "the registry has none, though the register stage promoted one; rerun the register stage"
    return f"the register stage promoted none ({decision.get('reason', '')}); nothing to ship"


def export_shadow(ctx: StageContext, model_name: str) -> None:
    from libs.tracking import load_sklearn_model, shadow  # MLflow: only the export stage needs it

    directory = shadow_dir(ctx.agent)
    current = shadow(model_name)
    if current is None:
        if directory.exists():
            (directory / IDENTITY_FILE).unlink(missing_ok=True)
            shutil.rmtree(directory)
            print(f"{model_name}: no shadow; removed {directory}")
        return
    model = load_sklearn_model(model_name, current.version)
    write_champion(model, model_name=model_name, model_version=str(current.version), directory=directory)
    print(f"{model_name}: shadow v{current.version} exported to {directory}")
