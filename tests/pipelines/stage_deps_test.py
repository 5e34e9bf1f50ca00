"""Every DVC stage depends on the code it runs, so a code change makes exactly its stages stale.

Checked for every pipeline in the repository and for the pipelines the scaffolder writes from its
templates (each kind rendered for a sample agent). A failure names each stage and each file its
program loads that its deps miss: add the file, or the folder holding it, to the stage's deps.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from libs.codeclosure import SourceTree
from tests.pipelines.stage_deps import DvcIgnore, Stage, absent_code_deps, missing_deps, parse_stages
from tools.new_agent.render import KIND_TITLES, Names, render

PIPELINES = sorted(path.as_posix() for path in Path("pipelines").glob("*/dvc.yaml"))
SCAFFOLDED = "scaffolded_agent"


def disk_tree(overlay: Mapping[str, str] | None = None) -> SourceTree:
    """The sandbox's files (what the pipeline-inputs targets bring), plus rendered ones not on disk."""
    extra = dict(overlay or {})
    disk = SourceTree.on_disk(Path.cwd())

    def read(path: str) -> str | None:
        return extra[path] if path in extra else disk.read(path)

    def list_dir(folder: str) -> list[str]:
        rendered = [path for path in extra if path.rsplit("/", 1)[0] == folder]
        return sorted({*disk.list_dir(folder), *rendered})

    def is_dir(folder: str) -> bool:
        return disk.is_dir(folder) or any(path.startswith(f"{folder}/") for path in extra)

    return SourceTree(read=read, list_dir=list_dir, is_dir=is_dir)


def dvcignore() -> DvcIgnore:
    return DvcIgnore.parse(Path(".dvcignore").read_text(encoding="utf-8"))


def problems_of(stages: list[Stage], tree: SourceTree) -> list[str]:
    ignore = dvcignore()
    return [
        problem
        for stage in stages
        for problem in (*missing_deps(stage, tree, ignore), *absent_code_deps(stage, tree))
    ]


def test_every_pipeline_of_the_repository_is_checked() -> None:
    assert {"pipelines/data/dvc.yaml", "pipelines/agent1/dvc.yaml", "pipelines/agent3/dvc.yaml"} <= set(
        PIPELINES
    )


@pytest.mark.parametrize("dvc_yaml", PIPELINES)
def test_each_stage_depends_on_every_file_its_program_loads(dvc_yaml: str) -> None:
    stages = parse_stages(dvc_yaml, Path(dvc_yaml).read_text(encoding="utf-8"))
    assert stages, f"{dvc_yaml} has no stages"
    problems = problems_of(stages, disk_tree())
    assert not problems, "stages miss the code they run:\n" + "\n".join(problems)


@pytest.mark.parametrize("kind", sorted(KIND_TITLES))
def test_scaffolded_stages_depend_on_every_file_their_program_loads(kind: str) -> None:
    rendered = render(Names(agent=SCAFFOLDED, kind=kind))
    dvc_yaml = f"pipelines/{SCAFFOLDED}/dvc.yaml"
    stages = parse_stages(dvc_yaml, rendered[dvc_yaml])
    problems = problems_of(stages, disk_tree(rendered))
    assert not problems, f"the {kind} template's stages miss the code they run:\n" + "\n".join(problems)


def test_a_stage_without_its_agents_stages_module_is_named() -> None:
    """The check fails, naming stage and file, when a stage's deps leave out code its program runs."""
    [train] = [
        stage
        for stage in parse_stages("pipelines/agent3/dvc.yaml", Path("pipelines/agent3/dvc.yaml").read_text())
        if stage.name.endswith(":train")
    ]
    trimmed = Stage(
        train.name,
        train.program,
        tuple(dep for dep in train.deps if dep not in ("agents/agent3/stages.py", "libs/tracking")),
    )
    problems = missing_deps(trimmed, disk_tree(), dvcignore())
    named = f"{train.name}: runs agents/agent3/stages.py (through agents/agent3:pipeline)"
    named += " but does not depend on it"
    assert named in problems, problems
    assert any("libs/tracking/registry.py" in problem for problem in problems), problems


def test_an_import_missing_from_the_sources_is_named() -> None:
    tree = disk_tree({"agents/ghost/__main__.py": "from libs.nowhere import thing\n"})
    stage = Stage("pipelines/ghost/dvc.yaml:train", "agents/ghost:pipeline", ("agents/ghost",))
    assert missing_deps(stage, tree, dvcignore()) == [
        "pipelines/ghost/dvc.yaml:train: imports libs.nowhere, which is not among the sources"
        " (add it to a pipeline-inputs target)"
    ]


def test_a_folder_dep_does_not_cover_files_dvc_ignores_there() -> None:
    tree = disk_tree(
        {"agents/ghost/__main__.py": "import agents.ghost.helper_test\n", "agents/ghost/helper_test.py": ""}
    )
    stage = Stage("pipelines/ghost/dvc.yaml:train", "agents/ghost:pipeline", ("agents/ghost",))
    assert missing_deps(stage, tree, dvcignore()) == [
        "pipelines/ghost/dvc.yaml:train: runs agents/ghost/helper_test.py (through agents/ghost:pipeline)"
        " but does not depend on it"
    ]
