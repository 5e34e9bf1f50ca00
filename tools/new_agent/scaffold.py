"""Plans a new agent as one `Change`: rendered templates plus the resolve edits, checked first."""

from __future__ import annotations

from pathlib import Path

from tools.new_agent import edits
from tools.new_agent.dataset import Dataset
from tools.new_agent.from_data import generated_files, template_facts
from tools.new_agent.names import Refusal, check_kind, check_name
from tools.new_agent.render import Names, render
from tools.new_agent.transaction import Change


def _read(root: Path, relative: str) -> str:
    return (root / relative).read_text(encoding="utf-8")


def plan(root: Path, name: str, kind: str, *, like: str | None = None, data: Dataset | None = None) -> Change:
    """Everything the agent adds and edits; raises Refusal before anything is written.

    With ``data`` the agent is built on that dataset (its copy is added by `cli`, after this change).
    """
    check_kind(kind)
    macros, pants_toml = _read(root, edits.MACROS), _read(root, edits.PANTS_TOML)
    agents = edits.agent_resolves(macros)
    check_name(name, root=root, resolves=sorted({*agents, *edits.pants_resolves(pants_toml)}))
    source = like or agents[0]
    if source not in agents:
        raise Refusal(f"--like {source!r} is not an agent resolve: choose one of {', '.join(agents)}")
    lock_dir = edits.LOCK_DIR
    names = Names(agent=name, kind=kind)
    if data is None:
        created = render(names)
    else:
        created = {**render(names, data=template_facts(names, data)), **generated_files(name, data)}
    created[f"{lock_dir}/{name}-requirements.txt"] = _read(root, f"{lock_dir}/{source}-requirements.txt")
    created[f"{lock_dir}/{name}.lock"] = edits.copied_lockfile(
        _read(root, f"{lock_dir}/{source}.lock"), source=source, name=name
    )
    return Change(
        created=created,
        edited={
            edits.MACROS: edits.add_to_macros(macros, name),
            edits.PANTS_TOML: edits.add_to_pants_toml(pants_toml, name, after=agents[-1]),
            edits.CODEOWNERS: edits.add_to_codeowners(_read(root, edits.CODEOWNERS), name),
        },
    )
