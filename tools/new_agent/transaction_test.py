import os
from pathlib import Path

import pytest

from tools.new_agent.transaction import Change, apply


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".local" not in path.parts
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "agents").mkdir()
    (tmp_path / "pants.toml").write_text("old\n")
    (tmp_path / "macros.py").write_text("old macros\n")
    return tmp_path


CHANGE = Change(
    created={"agents/fraud/BUILD": "agent()\n", "agents/fraud/champion/.gitignore": "/x\n", "new.lock": "{}"},
    edited={"pants.toml": "new\n", "macros.py": "new macros\n"},
)


def test_applies_every_file(root: Path) -> None:
    written = apply(root, CHANGE)
    assert (root / "agents/fraud/champion/.gitignore").read_text() == "/x\n"
    assert (root / "pants.toml").read_text() == "new\n"
    assert set(written) == {"agents/fraud", "new.lock", "pants.toml", "macros.py"}
    assert list((root / ".local").iterdir()) == []  # the staging area is gone


def test_a_failure_midway_leaves_the_tree_as_it_was(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = tree(root)
    real_replace = os.replace
    calls = []

    def failing_replace(source: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        apply(root, CHANGE)
    assert tree(root) == before
    assert not (root / "agents/fraud").exists()


def test_an_existing_target_is_refused_before_writing(root: Path) -> None:
    (root / "new.lock").write_text("mine")
    with pytest.raises(FileExistsError):
        apply(root, CHANGE)
    assert (root / "new.lock").read_text() == "mine"
    assert not (root / "agents/fraud").exists()
