from pathlib import Path

import pytest

from tools.new_agent.names import Refusal, check_kind, check_name


@pytest.mark.parametrize(
    "name", ["Fraud", "1fraud", "fraud-scorer", "fraud scorer", "", "class", "import", "x" * 33, "é"]
)
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(Refusal):
        check_name(name, root=tmp_path, resolves=[])


@pytest.mark.parametrize("taken", ["agents/fraud", "services/fraud", "pipelines/fraud"])
def test_a_name_whose_folders_exist_is_refused(tmp_path: Path, taken: str) -> None:
    (tmp_path / taken).mkdir(parents=True)
    with pytest.raises(Refusal, match="exists already"):
        check_name("fraud", root=tmp_path, resolves=[])


def test_an_existing_resolve_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Refusal, match="resolve"):
        check_name("serving", root=tmp_path, resolves=["agent1", "serving"])


def test_a_fresh_identifier_is_accepted(tmp_path: Path) -> None:
    check_name("fraud_scorer2", root=tmp_path, resolves=["agent1"])


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(Refusal, match="kind"):
        check_kind("forecaster")
