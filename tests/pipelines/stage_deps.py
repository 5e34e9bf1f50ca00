"""Which first-party files each DVC stage runs, and which of them its ``deps`` fail to cover.

Every stage's command is ``pipelines/stage <pants-target> ...``: the target's program (a
``pex_binary`` whose entry point is ``__main__.py`` in the target's folder) runs the stage. A change
to any file that program loads can change what the stage writes, so DVC must hash all of them:
each one must be a dep itself or lie under a folder dep (and not be one DVC ignores there).
"""

from __future__ import annotations

import fnmatch
import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from libs.codeclosure import SourceTree

STAGE_RUNNER = "pipelines/stage"
ENTRY_POINT = "__main__.py"
DATA_ROOT = "data/"


@dataclass(frozen=True)
class Stage:
    name: str  # pipelines/agent3/dvc.yaml:train, as DVC names it
    program: str  # the Pants target its command runs
    deps: tuple[str, ...]  # repository-relative


def _stage_root(dvc_yaml: str, stage: Mapping[str, Any]) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(dvc_yaml), str(stage.get("wdir", "."))))


def parse_stages(dvc_yaml: str, text: str) -> list[Stage]:
    """The stages of one dvc.yaml, with deps made relative to the repository root."""
    stages: list[Stage] = []
    for name, stage in (yaml.safe_load(text).get("stages") or {}).items():
        root = _stage_root(dvc_yaml, stage)
        command = shlex.split(str(stage["cmd"]))
        if command[0] != STAGE_RUNNER or len(command) < 2 or ":" not in command[1]:
            raise ValueError(
                f"{dvc_yaml}:{name} does not run through `{STAGE_RUNNER} <target>`: {stage['cmd']}"
            )
        deps = tuple(
            posixpath.normpath(posixpath.join(root, dep if isinstance(dep, str) else next(iter(dep))))
            for dep in stage.get("deps", [])
        )
        stages.append(Stage(name=f"{dvc_yaml}:{name}", program=command[1], deps=deps))
    return stages


def entry_point(program: str) -> str:
    return f"{program.split(':', 1)[0]}/{ENTRY_POINT}"


@dataclass(frozen=True)
class DvcIgnore:
    """The simple ``.dvcignore`` patterns this repository uses: names (``*_test.py``) and folders (``x/``)."""

    patterns: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> DvcIgnore:
        lines = (line.strip() for line in text.splitlines())
        return cls(tuple(line for line in lines if line and not line.startswith("#")))

    def ignores(self, path: str) -> bool:
        parts = path.split("/")
        for pattern in self.patterns:
            if "/" in pattern.rstrip("/"):
                raise ValueError(f".dvcignore pattern {pattern!r} is not a plain name or folder name")
            if pattern.endswith("/"):
                if any(fnmatch.fnmatchcase(part, pattern[:-1]) for part in parts[:-1]):
                    return True
            elif fnmatch.fnmatchcase(parts[-1], pattern):
                return True
        return False


def covers(dep: str, path: str, ignore: DvcIgnore) -> bool:
    if dep == path:
        return True
    return path.startswith(dep + "/") and not ignore.ignores(path[len(dep) + 1 :])


def missing_deps(stage: Stage, tree: SourceTree, ignore: DvcIgnore) -> list[str]:
    """One line per first-party file the stage's program loads that its deps do not cover."""
    entry = entry_point(stage.program)
    if tree.read(entry) is None:
        return [f"{stage.name}: its program {stage.program} has no {entry}"]
    closure = tree.closure(entry)
    problems = [
        f"{stage.name}: imports {module}, which is not among the sources (add it to a pipeline-inputs target)"
        for module in sorted(closure.unresolved)
    ]
    problems.extend(
        f"{stage.name}: runs {path} (through {stage.program}) but does not depend on it"
        for path in sorted(closure.files)
        if not any(covers(dep, path, ignore) for dep in stage.deps)
    )
    return problems


def absent_code_deps(stage: Stage, tree: SourceTree) -> list[str]:
    """Code deps (anything outside data/) missing from the tree: a pipeline-inputs target lacks them."""
    return [
        f"{stage.name}: depends on {dep}, which is not among the sources"
        for dep in stage.deps
        if not dep.startswith(DATA_ROOT) and tree.read(dep) is None and not tree.is_dir(dep)
    ]
