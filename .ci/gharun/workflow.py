"""A workflow file read as GitHub reads it, with the line of every mapping kept for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LINE = "__line__"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that notes each mapping's 1-based line under `__line__`."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
# GitHub reads YAML 1.2 core: `on` is a key, not the boolean YAML 1.1 makes of it.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class Workflow:
    path: Path
    name: str
    triggers: dict[str, Any]
    env: dict[str, Any]
    jobs: dict[str, dict[str, Any]]
    text: str
    run_defaults: dict[str, Any]

    def where(self, mapping: dict[str, Any], needle: str | None = None) -> str:
        """`file:line` of a mapping, or of the first line at or after it that contains `needle`."""
        line = int(mapping.get(LINE, 1))
        if needle:
            lines = self.text.splitlines()
            for number in range(line, len(lines) + 1):
                if needle.strip()[:40] in lines[number - 1]:
                    line = number
                    break
        return f"{self.path}:{line}"


def load(path: Path) -> Workflow:
    text = path.read_text(encoding="utf-8")
    document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    unknown = set(document) - {LINE, "name", "on", "env", "jobs", "permissions", "concurrency", "defaults"}
    if unknown:
        raise SystemExit(f"{path}:{document[LINE]}: workflow keys {sorted(unknown)} are not implemented")
    triggers = document.get("on") or {}
    if isinstance(triggers, str):
        triggers = {triggers: {}}
    elif isinstance(triggers, list):
        triggers = {name: {} for name in triggers}
    return Workflow(
        path=path,
        name=str(document.get("name", path.stem)),
        triggers=triggers,
        env=document.get("env") or {},
        jobs={name: job for name, job in document["jobs"].items() if name != LINE},
        text=text,
        run_defaults={
            k: v for k, v in ((document.get("defaults") or {}).get("run") or {}).items() if k != LINE
        },
    )
