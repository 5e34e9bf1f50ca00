"""The edits a new agent makes to existing files: its resolve in the BUILD prelude and pants.toml,
and a requirements file and lockfile copied from an existing agent resolve.

Every agent resolve has the same requirements, so a copy of one's lockfile is a valid lockfile
for the new one (the header records the requirements it was generated from, which match): no
network, no minutes of resolving. Move the new agent's pins later with `generate-lockfiles`.
"""

from __future__ import annotations

import ast
import re

MACROS = "pants-plugins/macros.py"
PANTS_TOML = "pants.toml"
CODEOWNERS = ".github/CODEOWNERS"
LOCK_DIR = "3rdparty/python"
_RESOLVES_TUPLE = re.compile(r"^AGENT_RESOLVES = \(\n(?P<body>(?:    \"[^\"\n]+\",\n)*)\)$", re.MULTILINE)
_RESOLVES_TABLE = re.compile(r"^\[python\.resolves\]\n", re.MULTILINE)


class RepositoryShapeError(Exception):
    """An existing file no longer has the shape the scaffolder edits; nothing has been written."""


def agent_resolves(macros: str) -> list[str]:
    match = _RESOLVES_TUPLE.search(macros)
    if match is None:
        raise RepositoryShapeError(f"{MACROS} has no `AGENT_RESOLVES = (...)` tuple, one name per line")
    resolves = ast.literal_eval(f"({match['body']})")
    return list(resolves)


def add_to_macros(macros: str, name: str) -> str:
    match = _RESOLVES_TUPLE.search(macros)
    if match is None:
        raise RepositoryShapeError(f"{MACROS} has no `AGENT_RESOLVES = (...)` tuple, one name per line")
    return macros[: match.end("body")] + f'    "{name}",\n' + macros[match.end("body") :]


def pants_resolves(pants_toml: str) -> list[str]:
    """Resolve names in `[python.resolves]` (a flat table of `name = "path"` lines)."""
    table = _RESOLVES_TABLE.search(pants_toml)
    if table is None:
        raise RepositoryShapeError(f"{PANTS_TOML} has no [python.resolves] table")
    names = []
    for line in pants_toml[table.end() :].splitlines():
        if line.startswith("["):
            break
        entry = re.match(r"^([A-Za-z0-9_-]+)\s*=", line)
        if entry:
            names.append(entry[1])
    return names


def add_to_pants_toml(pants_toml: str, name: str, *, after: str) -> str:
    """Inserts the resolve's lockfile line right after the `after` agent's, keeping agents together."""
    table = _RESOLVES_TABLE.search(pants_toml)
    if table is None:
        raise RepositoryShapeError(f"{PANTS_TOML} has no [python.resolves] table")
    anchor = re.compile(rf"^{re.escape(after)}\s*=.*\n", re.MULTILINE).search(pants_toml, table.end())
    if anchor is None:
        raise RepositoryShapeError(f"{PANTS_TOML} [python.resolves] has no {after!r} entry")
    line = f'{name} = "{LOCK_DIR}/{name}.lock"\n'
    return pants_toml[: anchor.end()] + line + pants_toml[anchor.end() :]


def copied_lockfile(lockfile: str, *, source: str, name: str) -> str:
    """The source resolve's lockfile, its regenerate hint naming the new resolve."""
    hint = f"generate-lockfiles --resolve={source}\n"
    if hint not in lockfile:
        raise RepositoryShapeError(f"{LOCK_DIR}/{source}.lock has no Pants lockfile header")
    return lockfile.replace(hint, f"generate-lockfiles --resolve={name}\n", 1)


def add_to_codeowners(codeowners: str, name: str) -> str:
    """The agent's three folders, owned by its own (placeholder) team, after the last agent's lines."""
    lines = codeowners.splitlines(keepends=True)
    agent_lines = [index for index, line in enumerate(lines) if re.match(r"^/pipelines/[^/\s]+/\s+@", line)]
    shared = [index for index, line in enumerate(lines) if line.startswith("/services/coordinator/")]
    if not agent_lines or not shared:
        raise RepositoryShapeError(f"{CODEOWNERS} has no agent block (a /pipelines/<agent>/ line) to follow")
    owner = f"@YOUR-ORG/{name.replace('_', '-')}-owners"  # team slugs use hyphens
    block = [f"{f'/{top}/{name}/':<23} {owner}\n" for top in ("agents", "services", "pipelines")]
    at = max(index for index in agent_lines if index < shared[0]) + 1
    return "".join([*lines[:at], "\n", *block, *lines[at:]])
