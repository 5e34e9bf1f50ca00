from pathlib import Path

import pytest

from libs.pipeline import StageContext, run_stages
from libs.schemas import DataValidationError


@pytest.fixture
def params(tmp_path: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text("train: {}\n")
    return path


def test_stage_runs_with_context_from_arguments(tmp_path: Path, params: Path) -> None:
    seen: list[StageContext] = []
    argv = [
        "train",
        "--params",
        str(params),
        "--raw-dir",
        str(tmp_path / "raw"),
        "--work-dir",
        str(tmp_path / "w"),
    ]
    assert run_stages("agentX", {"train": seen.append}, argv) == 0
    assert seen[0].agent == "agentX"
    assert seen[0].work_dir == tmp_path / "w"


def test_rejected_data_exits_1_with_the_report(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def reject(_: StageContext) -> None:
        raise DataValidationError("dataset customers: column 'segment' has nulls")

    assert run_stages("agentX", {"validate": reject}, ["validate", "--params", str(params)]) == 1
    err = capsys.readouterr().err
    assert "agentX validate: input rejected, nothing written." in err
    assert "column 'segment' has nulls" in err


def test_unknown_stage_is_a_usage_error(params: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_stages("agentX", {"train": lambda ctx: None}, ["deploy", "--params", str(params)])
    assert exit_info.value.code == 2
