"""Renders a kind's template tree into the files of a new agent.

Templates are real files under `templates/common` and `templates/<kind>` (the kind's files win),
with `@@name` placeholders: `$` and `{}` stay free for SQL parameters, f-strings and YAML. An agent
scaffolded from a dataset takes `templates/common`, then `templates/data/common` and
`templates/data/<kind>` instead of the generated world's `templates/<kind>`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
SUFFIX = ".tmpl"
AGENT_DIR = "AGENT"
# File names Pants or git would treat specially if they were stored under their real name.
RENAMES = {"build": "BUILD", "gitignore": ".gitignore"}
KIND_TITLES = {"classifier": "Classifier", "regressor": "Regressor", "anomaly": "AnomalyScorer"}


class AgentTemplate(string.Template):
    delimiter = "@@"


@dataclass(frozen=True)
class Names:
    agent: str
    kind: str

    @property
    def model_name(self) -> str:
        return f"{self.agent.replace('_', '-')}-{self.kind}"

    @property
    def service_class(self) -> str:
        return "".join(part.capitalize() for part in self.agent.split("_")) + KIND_TITLES[self.kind]

    def mapping(self) -> dict[str, str]:
        return {
            "agent": self.agent,
            "kind": self.kind,
            "model_name": self.model_name,
            "service_class": self.service_class,
        }


def output_path(relative: Path, agent: str) -> str:
    parts = [agent if part == AGENT_DIR else part for part in relative.parts]
    name = parts[-1].removesuffix(SUFFIX)
    parts[-1] = RENAMES.get(name, name)
    return "/".join(parts)


def template_trees(kind: str, templates: Path = TEMPLATES, *, data: bool = False) -> list[Path]:
    """The trees a kind renders from, later ones overriding earlier ones."""
    if data:
        return [templates / "common", templates / "data" / "common", templates / "data" / kind]
    return [templates / "common", templates / kind]


def template_files(kind: str, templates: Path = TEMPLATES, *, data: bool = False) -> dict[Path, Path]:
    """Template path relative to its tree -> file; the kind's own files override common ones."""
    found: dict[Path, Path] = {}
    for tree in template_trees(kind, templates, data=data):
        if not tree.is_dir():
            raise FileNotFoundError(f"no templates in {tree}")
        found.update({path.relative_to(tree): path for path in sorted(tree.rglob(f"*{SUFFIX}"))})
    return found


def render(
    names: Names, templates: Path = TEMPLATES, *, data: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Repository-relative path -> content. An unknown placeholder is an error, never left as text.

    ``data`` (the dataset's facts, `tools.new_agent.from_data`) selects the dataset templates.
    """
    mapping = {**names.mapping(), **(data or {})}
    return {
        output_path(relative, names.agent): AgentTemplate(path.read_text(encoding="utf-8")).substitute(
            mapping
        )
        for relative, path in template_files(names.kind, templates, data=data is not None).items()
    }
