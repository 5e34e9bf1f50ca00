from pathlib import Path

import pytest

from libs.pipeline import StageContext, load_params


def test_params_are_read_and_sections_checked(tmp_path: Path) -> None:
    params_file = tmp_path / "params.yaml"
    params_file.write_text("train:\n  max_iter: 10\nnot_a_mapping: 3\n")
    context = StageContext(
        agent="agentX",
        params=load_params(params_file),
        params_path=params_file,
        raw_dir=tmp_path / "raw",
        work_dir=tmp_path / "data" / "agentX",
    )
    assert context.section("train") == {"max_iter": 10}
    with pytest.raises(KeyError, match="has no 'gate' mapping"):
        context.section("gate")
    with pytest.raises(KeyError, match="has no 'not_a_mapping' mapping"):
        context.section("not_a_mapping")
    assert context.raw("customers") == tmp_path / "raw" / "customers.parquet"
    assert context.upstream("agent1", "scores.parquet") == tmp_path / "data" / "agent1" / "scores.parquet"
    assert context.out("model.skops").parent.is_dir()


def test_missing_or_malformed_params_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_params(tmp_path / "absent.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        load_params(listing)
