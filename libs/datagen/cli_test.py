from pathlib import Path

import pandas as pd
import pytest

from libs.datagen import TABLE_FILES
from libs.datagen.cli import main


def test_writes_the_five_files_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "raw"
    assert main(["--out", str(out), "--seed", "3", "--n-transactions", "1500", "--n-customers", "80"]) == 0
    assert sorted(path.name for path in out.iterdir()) == sorted(TABLE_FILES.values())
    assert len(pd.read_parquet(out / "transactions.parquet")) == 1500
    assert len(pd.read_parquet(out / "customers.parquet")) == 80
    summary = capsys.readouterr().out.strip()
    assert len(summary.splitlines()) == 1
    assert "1,500 transactions (15 anomalies)" in summary
    assert "seed 3" in summary and "drift off" in summary


def test_params_file_is_read_and_flags_win(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(
        "data:\n  seed: 11\n  n_customers: 90\n  n_transactions: 1200\n  n_days: 120\n  drift: false\n"
        "train:\n  unrelated: 1\n"
    )
    out = tmp_path / "raw"
    argv = [
        "--out",
        str(out),
        "--params",
        str(params),
        "--params-key",
        "data",
        "--n-transactions",
        "900",
        "--drift",
    ]
    assert main(argv) == 0
    transactions = pd.read_parquet(out / "transactions.parquet")
    assert len(transactions) == 900  # the flag beat the file's 1200
    assert len(pd.read_parquet(out / "customers.parquet")) == 90  # from the file
    assert transactions["ts"].max() < pd.Timestamp("2024-01-01") + pd.Timedelta(days=120)
    summary = capsys.readouterr().out
    assert "seed 11" in summary and "drift on" in summary


def test_params_set_the_world_exactly_like_flags(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("data:\n  seed: 5\n  n_transactions: 700\n  n_customers: 40\n")
    main(["--out", str(tmp_path / "a"), "--params", str(params), "--params-key", "data"])
    main(["--out", str(tmp_path / "b"), "--seed", "5", "--n-transactions", "700", "--n-customers", "40"])
    for filename in TABLE_FILES.values():
        assert (tmp_path / "a" / filename).read_bytes() == (tmp_path / "b" / filename).read_bytes()


@pytest.mark.parametrize(
    ("params_text", "key", "message"),
    [
        ("data:\n  n_transaction: 10\n", "data", "unknown world setting"),
        ("data:\n  seed: 1\n", "world", "has no 'world' key"),
        ("data: [1, 2]\n", "data", "must be a mapping"),
        ("data:\n  n_days: -4\n", "data", "n_days must be >= 3"),
        ("data: {unclosed\n", "data", "cannot read params file"),
    ],
)
def test_bad_params_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], params_text: str, key: str, message: str
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(params_text)
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "raw"), "--params", str(params), "--params-key", key])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


def test_params_key_without_params_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--params-key", "data"])
    assert exit_info.value.code == 2
