from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from libs.atomicfiles import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text


def _temporaries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    path = tmp_path / "out.txt"
    atomic_write_text("old", path)
    return path


def test_failed_rename_leaves_old_file_and_no_temporaries(
    existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = existing.read_bytes()

    def refuse(source: Any, destination: Any) -> None:
        raise PermissionError("rename refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match="rename refused"):
        atomic_write_text("new", existing)
    assert existing.read_bytes() == before
    assert _temporaries(existing.parent) == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_atomic_path_cleans_up_on_any_interruption(tmp_path: Path, interruption: type[BaseException]) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old")
    with pytest.raises(interruption), atomic_path(target) as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.startswith(".report.txt.")
        temporary.write_text("partial")
        raise interruption()
    assert target.read_text() == "old"
    assert _temporaries(tmp_path) == []


def test_atomic_path_requires_the_writer_to_produce_a_file(tmp_path: Path) -> None:
    with (
        pytest.raises(FileNotFoundError, match="the writer left no file"),
        atomic_path(tmp_path / "x.parquet"),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


def test_text_is_written_exactly(tmp_path: Path) -> None:
    path = atomic_write_text("ünïcode\nline two", tmp_path / "a.txt")
    assert path.read_bytes() == "ünïcode\nline two".encode()


def test_json_is_sorted_indented_with_final_newline_and_stable(tmp_path: Path) -> None:
    first = atomic_write_json({"rmse": 1.5, "auc": 0.75, "by_store": {"b": 2, "a": 1}}, tmp_path / "m1.json")
    second = atomic_write_json({"by_store": {"a": 1, "b": 2}, "auc": 0.75, "rmse": 1.5}, tmp_path / "m2.json")
    expected = '{\n  "auc": 0.75,\n  "by_store": {\n    "a": 1,\n    "b": 2\n  },\n  "rmse": 1.5\n}\n'
    assert first.read_text() == expected
    assert second.read_bytes() == first.read_bytes()


def test_json_writes_numpy_values_as_plain_numbers(tmp_path: Path) -> None:
    path = atomic_write_json(
        {"n": np.int64(3), "x": np.float32(0.5), "v": np.array([1, 2])}, tmp_path / "m.json"
    )
    assert json.loads(path.read_text()) == {"n": 3, "x": 0.5, "v": [1, 2]}


def test_json_rejects_nan_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = atomic_write_json({"auc": 0.5}, tmp_path / "m.json")
    with pytest.raises(ValueError, match=r"cannot write .*m\.json as JSON"):
        atomic_write_json({"auc": float("nan")}, path)
    with pytest.raises(TypeError, match="set is not JSON serialisable"):
        atomic_write_json({"auc": {1}}, path)
    assert json.loads(path.read_text()) == {"auc": 0.5}
    assert _temporaries(tmp_path) == []


def test_bytes_are_written_exactly_and_replace_atomically(tmp_path: Path) -> None:
    target = tmp_path / "model.skops"
    atomic_write_bytes(b"old", target)
    atomic_write_bytes(b"\x00new\xff", target)
    assert target.read_bytes() == b"\x00new\xff"
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]
