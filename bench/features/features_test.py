"""The benchmark's claims rest on these: both contenders build the same features, the check that says
so can fail, and the orchestrator stays light enough for its children's peak RSS to be their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bench.features.cache import InputSpec, is_current, table_paths
from bench.features.child import DEFAULT_HOLDOUT_DAYS
from bench.features.compare import differences
from bench.features.generate import write_inputs
from bench.features.measure import run_checked, run_module
from bench.features.pandas_features import pandas_features
from bench.features.production import duckdb_features
from bench.features.summary import Spread

SPEC = InputSpec(n_transactions=4000)
MIB = 1024


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    write_inputs(folder, SPEC)
    return folder


@pytest.mark.parametrize("holdout_days", [DEFAULT_HOLDOUT_DAYS, 3])
def test_pandas_builds_the_same_features_as_agent2_sql(inputs: Path, holdout_days: int) -> None:
    expected = duckdb_features(table_paths(inputs), holdout_days)
    actual = pandas_features(table_paths(inputs), holdout_days)
    assert len(expected) > 0
    assert (expected["split"] == "holdout").sum() == holdout_days * 100  # 5 stores x 20 products
    assert differences(expected, actual) == []


def test_generated_inputs_are_cached_only_for_the_same_request(inputs: Path) -> None:
    scores = pd.read_parquet(table_paths(inputs)["scores"])
    assert len(scores) == SPEC.n_transactions
    assert 0 < scores["is_flagged"].mean() < 0.03
    assert is_current(inputs, SPEC)
    assert not is_current(inputs, InputSpec(n_transactions=SPEC.n_transactions, seed=1))


def test_differences_reports_what_is_wrong() -> None:
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-07", "2024-01-08"]), "lag_1": [1.0, None], "split": ["train"] * 2}
    )
    assert differences(frame, frame.assign(date=frame["date"].astype("datetime64[us]"))) == []
    assert differences(frame, frame.assign(lag_1=[1.0 + 1e-12, None])) == []
    assert differences(frame, frame.assign(lag_1=[1.5, None])) == [
        "lag_1: 1 of 2 rows differ, first at row 0: np.float64(1.0) vs np.float64(1.5)"
    ]
    assert differences(frame, frame.assign(lag_1=[1.0, 0.0]))[0].startswith("lag_1: 1 of 2 rows differ")
    assert differences(frame, frame.assign(split=["train", "holdout"]))[0].startswith("split:")
    assert differences(frame, frame[["lag_1", "date", "split"]])[0].startswith("columns differ")
    assert differences(frame, frame.head(1)) == ["row counts differ: 2 vs 1"]


def test_orchestrator_imports_only_the_standard_library() -> None:
    heavy = "{'pandas', 'numpy', 'pyarrow', 'duckdb'}"
    probe = f"import sys, bench.features.__main__; print(sorted({heavy} & set(sys.modules)))"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_child_peak_rss_is_measured_and_failures_stop_the_run() -> None:
    sample = run_module("timeit", ["-n", "1", "-r", "1", "b'x' * (400 * 2**20)"])
    assert sample.returncode == 0
    assert sample.peak_rss_kib >= 400 * MIB
    with pytest.raises(SystemExit, match="failed with exit code"):
        run_checked("timeit", ["-n", "1", "-r", "1", "1 / 0"])


def test_default_holdout_days_is_agent2_param() -> None:
    params = yaml.safe_load(Path("pipelines/agent2/params.yaml").read_text(encoding="utf-8"))
    assert params["features"]["holdout_days"] == DEFAULT_HOLDOUT_DAYS


def test_duckdb_on_one_thread_builds_the_same_features(inputs: Path) -> None:
    expected = duckdb_features(table_paths(inputs), DEFAULT_HOLDOUT_DAYS)
    one_thread = duckdb_features(table_paths(inputs), DEFAULT_HOLDOUT_DAYS, threads=1)
    assert differences(expected, one_thread) == []


def test_ratio_spread_keeps_the_range_a_median_hides() -> None:
    spread = Spread.of([4.25, 5.5, 5.0, 5.25])
    assert (spread.median, spread.low, spread.high) == (5.125, 4.25, 5.5)
    assert spread.text() == "5.12 (4.25-5.50)"
