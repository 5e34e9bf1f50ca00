from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
import yaml

from libs.tracking import (
    DataHash,
    Lineage,
    collect_lineage,
    content_md5,
    data_hashes,
    flatten_params,
    git_state,
)
from libs.tracking.gitstate import changed_paths
from libs.tracking.lockfile import lockfile_sha256

GIT_IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train.py").write_text("print('v1')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "first")
    return repo


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_git_commit_and_dirty_flag_come_from_the_working_tree(git_repo: Path) -> None:
    clean = git_state(git_repo)
    assert clean.commit == git(git_repo, "log", "-1", "--format=%H")
    assert len(clean.commit) == 40
    assert clean.dirty is False

    (git_repo / "train.py").write_text("print('v2')\n")
    assert git_state(git_repo).dirty is True


def test_outside_git_the_commit_is_unknown_and_nothing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    state = git_state(tmp_path)
    assert (state.commit, state.dirty) == ("unknown", None)
    assert Lineage(git_commit=state.commit, git_dirty=state.dirty).as_tags()["lineage.git_dirty"] == "unknown"


def test_dvc_pointer_file_md5_is_used_while_its_size_still_matches(tmp_path: Path) -> None:
    data = tmp_path / "customers.parquet"
    data.write_bytes(b"rows")
    recorded = "0123456789abcdef0123456789abcdef"  # not the bytes' md5: proves it was read, not computed
    pointer = {"outs": [{"md5": recorded, "size": 4, "hash": "md5", "path": "customers.parquet"}]}
    (tmp_path / "customers.parquet.dvc").write_text(yaml.safe_dump(pointer))

    assert data_hashes([data]) == [DataHash(md5=recorded, source=str(tmp_path / "customers.parquet.dvc"))]

    data.write_bytes(b"edited rows")  # the pointer is now stale
    assert data_hashes([data]) == [DataHash(md5=md5(b"edited rows"), source="computed")]


def test_dvc_lock_outs_are_found_relative_to_the_stage_wdir(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "transactions.parquet").write_bytes(b"12345")
    (raw / "stores.parquet").write_bytes(b"abc")
    stage_dir = tmp_path / "pipelines" / "data"
    stage_dir.mkdir(parents=True)
    (stage_dir / "dvc.yaml").write_text(
        yaml.safe_dump({"stages": {"generate": {"wdir": "../..", "cmd": "x"}}})
    )
    lock = {
        "schema": "2.0",
        "stages": {
            "generate": {
                "cmd": "x",
                "deps": [{"path": "data/raw/stores.parquet", "hash": "md5", "md5": "d" * 32, "size": 3}],
                "outs": [
                    {"path": "data/raw/transactions.parquet", "hash": "md5", "md5": "a" * 32, "size": 5}
                ],
            }
        },
    }
    (stage_dir / "dvc.lock").write_text(yaml.safe_dump(lock))

    transactions, stores = data_hashes([raw / "transactions.parquet", raw / "stores.parquet"])

    assert transactions == DataHash(md5="a" * 32, source=str(stage_dir / "dvc.lock"))
    assert stores.md5 == "d" * 32


def test_directories_hash_their_sorted_relpaths_and_contents(tmp_path: Path) -> None:
    first = tmp_path / "first"
    (first / "sub").mkdir(parents=True)
    (first / "sub" / "b.csv").write_text("b")
    (first / "a.csv").write_text("a")
    second = tmp_path / "second"
    (second / "sub").mkdir(parents=True)
    (second / "a.csv").write_text("a")  # same tree, written in another order
    (second / "sub" / "b.csv").write_text("b")

    digest = content_md5(first)
    assert digest.endswith(".dir")
    assert digest == content_md5(second)
    (second / "sub" / "b.csv").rename(second / "b.csv")
    assert content_md5(second) != digest
    assert content_md5(first / "a.csv") == md5(b"a")


def test_lockfile_hash_of_a_resolve_under_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pants.toml").write_text("")
    lockfile = tmp_path / "3rdparty" / "python" / "agent1.lock"
    lockfile.parent.mkdir(parents=True)
    lockfile.write_bytes(b'{"locked_resolves": []}')
    monkeypatch.chdir(tmp_path)

    expected = hashlib.sha256(b'{"locked_resolves": []}').hexdigest()
    assert lockfile_sha256("agent1") == expected
    assert lockfile_sha256(path=lockfile) == expected
    assert lockfile_sha256("no-such-resolve") is None
    with pytest.raises(FileNotFoundError, match=r"absent\.lock"):
        lockfile_sha256(path=tmp_path / "absent.lock")


def test_nested_params_flatten_to_dotted_string_values() -> None:
    params = {"train": {"max_iter": 60, "model": {"C": 0.5}}, "seed": 7, "features": ["a", "b"]}
    assert flatten_params(params) == {
        "train.max_iter": "60",
        "train.model.C": "0.5",
        "seed": "7",
        "features": "['a', 'b']",
    }


def test_collect_lineage_tags_name_every_source(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (git_repo / "pants.toml").write_text("")
    lockfile = git_repo / "3rdparty" / "python" / "agent3.lock"
    lockfile.parent.mkdir(parents=True)
    lockfile.write_text("pins")
    data = git_repo / "data" / "raw" / "customers.parquet"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"customers")
    monkeypatch.chdir(git_repo)

    lineage = collect_lineage(
        input_paths=[Path("data/raw/customers.parquet")], resolve="agent3", params={"gate": {"margin": 0.01}}
    )

    assert lineage.as_tags() == {
        "lineage.git_commit": git(git_repo, "rev-parse", "HEAD"),
        "lineage.git_dirty": "true",  # pants.toml, 3rdparty and data are untracked
        "lineage.lockfile_sha256": hashlib.sha256(b"pins").hexdigest(),
        "lineage.resolve": "agent3",
        "lineage.data_hash.data/raw/customers.parquet": md5(b"customers"),
    }
    assert lineage.params == {"gate.margin": "0.01"}
    with pytest.raises(TypeError):
        lineage.params["gate.margin"] = "1"


def test_missing_input_data_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.parquet"):
        collect_lineage(input_paths=[tmp_path / "absent.parquet"], repo=tmp_path)


def dvc_pipeline_repo(repo: Path) -> Path:
    """A committed repository with one DVC pipeline (a stage in a sub-folder, run from the root)."""
    (repo / ".dvc").mkdir()
    pipeline = repo / "pipelines" / "agent"
    pipeline.mkdir(parents=True)
    stages = {
        "train": {
            "wdir": "../..",
            "cmd": "python train.py",
            "deps": ["train.py"],
            "outs": ["models/model.skops"],
            "metrics": [{"metrics/scores.json": {"cache": False}}],
        }
    }
    (pipeline / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    (pipeline / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pipeline")
    return pipeline


def test_what_the_pipeline_writes_leaves_the_tree_clean(git_repo: Path) -> None:
    pipeline = dvc_pipeline_repo(git_repo)
    (pipeline / "dvc.lock").write_text("schema: '2.0'\nstages: {train: {cmd: python train.py}}\n")
    for output in ("models/model.skops", "metrics/scores.json"):
        (git_repo / output).parent.mkdir(exist_ok=True)
        (git_repo / output).write_text("written by the stage")
        (git_repo / output).with_name(".gitignore").write_text(f"/{Path(output).name}\n")  # as DVC does

    lineage = collect_lineage(repo=git_repo)

    assert git_state(git_repo).dirty is True  # git itself sees the lock and the new files
    assert lineage.git_dirty is False


@pytest.mark.parametrize(
    "edit", ["train.py", "pipelines/agent/dvc.yaml", "models/notes.txt", "new.py", "pipelines/.gitignore"]
)
def test_anything_else_changed_makes_the_tree_dirty(git_repo: Path, edit: str) -> None:
    pipeline = dvc_pipeline_repo(git_repo)
    (pipeline / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n# rewritten\n")
    (git_repo / edit).parent.mkdir(parents=True, exist_ok=True)
    with (git_repo / edit).open("a") as handle:
        handle.write("# edited\n")

    assert collect_lineage(repo=git_repo).git_dirty is True


def test_a_renamed_file_names_both_paths() -> None:
    porcelain = "R  new.py\0old.py\0 M dvc.lock\0?? data/x\0"
    assert list(changed_paths(porcelain)) == ["new.py", "old.py", "dvc.lock", "data/x"]
