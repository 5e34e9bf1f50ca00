"""The project's own code a saved model needs to load, copied out for MLflow's ``code_paths``.

A skops file names the classes it holds; those of this repository (``agents.*``, ``libs.*``) must be
importable wherever the model loads. MLflow copies ``code_paths`` into the logged model and puts
them on ``sys.path`` when loading it, so the registered model loads outside this checkout. Only
the modules the classes live in and what they import are copied, in their package layout
(``agents/agent3/model.py``, ``libs/features/...``), never tests or unrelated code.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterable
from pathlib import Path

from libs.codeclosure.closure import SourceTree, is_first_party


def first_party_modules(type_names: Iterable[str]) -> list[str]:
    """Modules defining the first-party types among ``module.Class`` names."""
    return sorted({name.rsplit(".", 1)[0] for name in type_names if "." in name and is_first_party(name)})


def source_root(module: str) -> Path:
    """The sys.path entry ``module`` is imported from."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"cannot find the source of {module}")
    origin = Path(spec.origin)
    depth = len(module.split(".")) - (0 if origin.name == "__init__.py" else 1)
    return origin.parents[depth]


def copy_model_code(type_names: Iterable[str], destination: Path) -> list[Path]:
    """Copies what importing each first-party type's module loads; returns the top-level folders."""
    copied: set[str] = set()
    for module in first_party_modules(type_names):
        root = source_root(module)
        closure = SourceTree.on_disk(root).module_closure(module)
        if closure.unresolved:
            raise ModuleNotFoundError(
                f"{module} imports modules not found under {root}: {sorted(closure.unresolved)}"
            )
        for relative in sorted(closure.files):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / relative, target)
            copied.add(relative)
    return sorted({destination / relative.split("/", 1)[0] for relative in copied})
