from __future__ import annotations

import json
from pathlib import Path

from libs.tracking.cli import main
from libs.tracking.preview import describe, preview

BASE_PROMOTED = {"promoted": True, "challenger_version": "3", "challenger_score": 10.0}
HEAD = {"metric": "mae", "challenger_score": 9.5, "margin": 0.25, "higher_is_better": False}


def test_a_head_that_beats_the_base_champion_by_the_margin_would_be_promoted() -> None:
    decision = preview(BASE_PROMOTED, HEAD)
    assert decision.promoted
    assert (decision.champion_version, decision.champion_score) == ("3", 10.0)


def test_the_base_champion_is_the_one_it_kept_when_its_own_challenger_was_rejected() -> None:
    base = {"promoted": False, "challenger_score": 8.0, "champion_version": "2", "champion_score": 9.6}
    decision = preview(base, HEAD)
    assert not decision.promoted
    assert decision.champion_version == "2"


def test_a_base_without_a_champion_promotes() -> None:
    assert preview(None, HEAD).promoted


def test_the_cli_prints_one_markdown_verdict(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    base.write_text(json.dumps(BASE_PROMOTED))
    head.write_text(json.dumps({**HEAD, "challenger_score": 9.9}))
    assert main(["gate-preview", str(base), str(head)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("**champion kept**: mae 10 (base champion v3) -> 9.9 (this PR)")
    assert "margin of 0.25" in line


def test_a_head_no_better_than_its_baseline_says_so_with_or_without_a_base_champion() -> None:
    head = {**HEAD, "challenger_score": 11.0, "baseline_name": "seasonal naive", "baseline_score": 10.5}
    first = preview(None, head)
    assert not first.promoted
    assert describe(first, "mae") == (
        "**would be rejected**: mae 11 (this PR) does not beat the baseline (seasonal naive) 10.5 "
        "(lower is better)"
    )
    kept = describe(preview(BASE_PROMOTED, head), "mae")
    assert kept.startswith("**champion kept**: mae 10 (base champion v3) -> 11 (this PR)")
    assert kept.endswith("; this PR does not beat the baseline (seasonal naive) 10.5 (lower is better)")
