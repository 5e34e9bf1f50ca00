from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.ci_time import STEP_ORDER, earlier_rows, is_complete, merged
from bench.report import RESULTS_VARIABLE


def row(step: str, seconds: float, **more: object) -> dict[str, object]:
    return {"step": step, "seconds": seconds, **more}


def test_a_partial_run_keeps_the_other_steps_rows_in_step_order() -> None:
    kept = [row("lifecycle cold", 808.5), row("lifecycle warm", 67.7), row("test cold", 3000.0)]
    new = [row("test cold", 2500.0), row("pull request, one agent", 400.0)]
    assert merged(kept, new) == [
        row("test cold", 2500.0),
        row("pull request, one agent", 400.0),
        row("lifecycle cold", 808.5),
        row("lifecycle warm", 67.7),
    ]


def test_earlier_rows_carry_their_runs_date_unless_they_have_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RESULTS_VARIABLE, str(tmp_path))
    assert earlier_rows() == []
    rows = [row("lifecycle cold", 808.5), row("test cold", 1.0, measured="2026-12-01 10:00 UTC")]
    payload = {"rows": rows, "machine": {"date": "2026-12-06 15:58 UTC"}}
    (tmp_path / "ci_time.json").write_text(json.dumps(payload), encoding="utf-8")
    assert [found["measured"] for found in earlier_rows()] == ["2026-12-06 15:58 UTC", "2026-12-01 10:00 UTC"]


def test_a_table_is_complete_only_with_every_step_finished() -> None:
    done = [row(step, 1.0, status="ok") for step in STEP_ORDER]
    assert is_complete(done)
    assert not is_complete(done[3:])  # a --steps lifecycle run alone
    assert not is_complete([*done[:-1], row("lifecycle warm", 9.0, status="stopped before it finished")])
