from __future__ import annotations

import errno
import gzip
import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import pandas as pd
import pytest

from libs.messages import DemandFeatures
from libs.monitoring.prediction_reader import logged_inputs, read_predictions
from libs.predictionlog import logger as prediction_log
from libs.predictionlog.logger import PredictionLogger
from libs.predictionlog.records import PredictionBatch
from libs.settings import Settings


class Model(TypedDict):
    model_name: str
    model_version: str


MODEL: Model = {"model_name": "agent2-demand-forecaster", "model_version": "7"}


@pytest.fixture
def logger(tmp_path: Path) -> Iterator[PredictionLogger]:
    with PredictionLogger("agent2", tmp_path, batch_size=3, flush_interval_s=60) as instance:
        yield instance


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Every file write waits for ``release``; ``entered`` is set once the writer is stuck in one."""
    entered, release = threading.Event(), threading.Event()
    real_write = prediction_log.write_batch

    def stalled_write(agent_dir: Path, batch: Sequence[PredictionBatch]) -> list[Path]:
        entered.set()
        release.wait(30)
        return real_write(agent_dir, batch)

    monkeypatch.setattr(prediction_log, "write_batch", stalled_write)
    yield entered, release
    release.set()


def test_logged_predictions_read_back_with_their_columns(tmp_path: Path, logger: PredictionLogger) -> None:
    for index in range(7):
        logger.log(
            {"lag_1": float(index), "store_id": 3, "lag_7": None},
            output=index * 1.5,
            latency_ms=2.0 + index,
            **MODEL,
        )
    assert logger.flush()
    frame = read_predictions(tmp_path, "agent2")

    assert len(frame) == 7 and logger.written == 7 and logger.dropped == 0
    assert list(frame["output"]) == [index * 1.5 for index in range(7)]
    assert list(frame["input_lag_1"]) == [float(index) for index in range(7)]
    assert frame["input_lag_7"].isna().all()
    assert set(frame["model_version"]) == {"7"} and set(frame["model_name"]) == {MODEL["model_name"]}
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert list(logged_inputs(frame).columns) == ["lag_1", "lag_7", "store_id"]
    # batch_size=3: seven records are three files, each in the hive folder of its UTC date.
    files = sorted((tmp_path / "agent2").glob("date=*/part-*.jsonl.gz"))
    assert len(files) == 3
    assert {file.parent.name for file in files} == {f"date={datetime.now(UTC).date().isoformat()}"}
    assert not list((tmp_path / "agent2").rglob("*.tmp")), "temporary files must be renamed or removed"


def test_records_go_to_the_partition_of_their_utc_date_and_since_filters(
    tmp_path: Path, logger: PredictionLogger
) -> None:
    old = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    logger.log({"x": 1.0}, output=1.0, latency_ms=1.0, timestamp=old, **MODEL)
    logger.log({"x": 2.0}, output=2.0, latency_ms=1.0, timestamp=old + timedelta(hours=1), **MODEL)
    assert logger.flush()

    folders = sorted(path.name for path in (tmp_path / "agent2").iterdir())
    assert folders == ["date=2024-03-01", "date=2024-03-02"]
    assert list(read_predictions(tmp_path, "agent2", since=date(2024, 3, 2))["input_x"]) == [2.0]
    assert len(read_predictions(tmp_path, "agent2", since=old)) == 2


def test_close_flushes_a_partial_batch(tmp_path: Path) -> None:
    logger = PredictionLogger("agent3", tmp_path, batch_size=1000, flush_interval_s=3600)
    logger.log_batch([{"revenue": 1.0}, {"revenue": 2.0}], [0.1, 0.9], latency_ms=5.0, **MODEL)
    logger.close()

    frame = read_predictions(tmp_path, "agent3")
    assert list(frame["output"]) == [0.1, 0.9] and list(frame["latency_ms"]) == [5.0, 5.0]


def test_a_batch_is_copied_when_logged_and_counts_its_rows_against_the_queue(
    tmp_path: Path, stalled: tuple[threading.Event, threading.Event]
) -> None:
    entered, release = stalled
    logger = PredictionLogger("agent2", tmp_path, max_queue=4, batch_size=1, flush_interval_s=60)
    logger.log({"x": 0.0}, output=0.0, latency_ms=1.0, **MODEL)
    assert entered.wait(10), "the writer should have taken the first record"

    rows = [{"x": 1.0}, {"x": 2.0}, {"x": 3.0}]
    logger.log_batch(rows, [1.0, 2.0, 3.0], latency_ms=5.0, **MODEL)  # 3 rows of 4 queued
    rows[0]["x"] = -1.0  # the caller reuses its rows: what was logged must not change
    logger.log_batch([{"x": 4.0}, {"x": 5.0}], [4.0, 5.0], latency_ms=5.0, **MODEL)  # 3 + 2 > 4: dropped
    logger.log_batch([], [], latency_ms=5.0, **MODEL)  # nothing to log is not a drop
    assert logger.dropped == 2

    release.set()
    logger.close()
    assert logger.dropped == 2 and logger.written == 4
    assert list(read_predictions(tmp_path, "agent2")["input_x"]) == [0.0, 1.0, 2.0, 3.0]


def test_nothing_logged_reads_as_an_empty_frame_with_the_columns(tmp_path: Path) -> None:
    frame = read_predictions(tmp_path, "agent1")
    assert frame.empty
    assert list(frame.columns) == ["timestamp", "model_name", "model_version", "latency_ms", "output", "date"]


def test_default_directory_is_the_settings_prediction_log_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    with PredictionLogger("agent1") as logger:
        assert logger.directory == Settings().prediction_log_dir == tmp_path / "predictions"


def test_a_stalled_writer_never_blocks_log_and_overflow_is_counted(
    tmp_path: Path, stalled: tuple[threading.Event, threading.Event], caplog: pytest.LogCaptureFixture
) -> None:
    entered, release = stalled
    logger = PredictionLogger("agent1", tmp_path, max_queue=5, batch_size=1, flush_interval_s=60)
    logger.log({"x": 0.0}, output=0.0, latency_ms=1.0, **MODEL)
    assert entered.wait(10), "the writer should have taken the first record"

    # The writer is stuck inside a write; the queue holds 5. Logging from another thread shows the
    # caller returns: if log() blocked, the thread would still be alive after the join.
    def log_many() -> None:
        for index in range(100):
            logger.log({"x": float(index)}, output=0.0, latency_ms=1.0, **MODEL)

    caller = threading.Thread(target=log_many)
    caller.start()
    caller.join(10)
    assert not caller.is_alive(), "log() blocked while the writer was stalled"
    assert logger.dropped == 95

    release.set()
    with caplog.at_level(logging.WARNING, logger="libs.predictionlog"):
        logger.close()
    assert logger.written == 6
    assert len(read_predictions(tmp_path, "agent1")) == 6
    assert any("95" in message and "dropped" in message for message in caplog.messages)


def test_a_full_disk_drops_the_batch_counts_it_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full_disk(path: Path, data: bytes) -> int:
        with path.open("wb") as file:  # half a file on disk, then the device is full
            file.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    logger = PredictionLogger("agent2", tmp_path, batch_size=4, flush_interval_s=60)
    with caplog.at_level(logging.WARNING, logger="libs.predictionlog"):
        for index in range(4):
            logger.log({"x": float(index)}, output=1.0, latency_ms=1.0, **MODEL)  # must not raise
        assert logger.flush()
        logger.close()

    assert logger.dropped == 4 and logger.written == 0
    assert any("4 records" in message and "No space left" in message for message in caplog.messages)
    assert not list(tmp_path.rglob("*.jsonl.gz")) and not list(tmp_path.rglob("*.tmp"))


def test_an_unwritable_directory_drops_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log folder should be")
    with PredictionLogger("agent2", blocker, batch_size=2, flush_interval_s=60) as logger:
        logger.log({"x": 1.0}, output=1.0, latency_ms=1.0, **MODEL)
        logger.log({"x": 2.0}, output=1.0, latency_ms=1.0, **MODEL)
        assert logger.flush()
        assert logger.dropped == 2
    # The writer survives a failed batch and keeps going.
    assert logger.written == 0


def test_bad_calls_are_dropped_not_raised(tmp_path: Path) -> None:
    with PredictionLogger("agent2", tmp_path, flush_interval_s=60) as logger:
        logger.log(None, output=1.0, latency_ms=1.0, **MODEL)  # type: ignore[arg-type]
        logger.log({"x": 1.0}, output=1.0, latency_ms="slow", **MODEL)  # type: ignore[arg-type]
        logger.log_batch([{"x": 1.0}], [1.0, 2.0], latency_ms=1.0, **MODEL)
        assert logger.dropped == 4
    logger.log({"x": 1.0}, output=1.0, latency_ms=1.0, **MODEL)  # after close
    assert logger.dropped == 5


def test_text_outputs_and_inputs_are_kept_as_text(tmp_path: Path, logger: PredictionLogger) -> None:
    logger.log({"segment": "budget", "x": True}, output="churn", latency_ms=1.0, **MODEL)
    assert logger.flush()
    frame = read_predictions(tmp_path, "agent2")
    assert frame.loc[0, "output"] == "churn" and frame.loc[0, "input_segment"] == "budget"
    assert frame.loc[0, "input_x"] == 1.0
    assert isinstance(frame, pd.DataFrame)


def test_files_are_gzipped_json_lines_with_non_finite_numbers_as_null(
    tmp_path: Path, logger: PredictionLogger
) -> None:
    logger.log({"x": float("nan"), "y": float("inf"), "z": 2}, output=1.5, latency_ms=1.0, **MODEL)
    assert logger.flush()
    (file,) = (tmp_path / "agent2").rglob("part-*.jsonl.gz")
    (row,) = (json.loads(line) for line in gzip.decompress(file.read_bytes()).splitlines())
    assert row["input_x"] is None and row["input_y"] is None and row["input_z"] == 2.0
    assert row["output"] == 1.5 and row["model_version"] == "7"
    assert datetime.fromisoformat(row["timestamp"]).tzinfo is not None


def test_each_line_is_the_text_json_dumps_writes_for_its_record(
    tmp_path: Path, logger: PredictionLogger
) -> None:
    # records.py encodes value by value, not through json.dumps: the text must be the same anyway.
    odd = {"f": -0.0, "i": 2**70, "n": None, "t": 'caf\u00e9 "q"\n', "b": False, "k%s": 1e-300}
    logger.log_batch(
        [odd, {"f": 1e300, "i": 3, "n": float("nan"), "t": 4, "b": True, "k%s": 0.1}, {"u\u00fc": "x"}],
        ["a\u2028", None, 7],
        latency_ms=0.25,
        **MODEL,
    )
    logger.log_batch([{"f": 0.5, "n": None}], [1.5], model_name="m", model_version="2", latency_ms=3.0)
    assert logger.flush()
    files = sorted((tmp_path / "agent2").rglob("part-*.jsonl.gz"))
    lines = [line for file in files for line in gzip.decompress(file.read_bytes()).decode().splitlines()]
    assert len(lines) == 4
    for line in lines:
        assert line == json.dumps(json.loads(line), allow_nan=False)
    first = json.loads(lines[0])
    assert (
        first["input_i"] == float(2**70) and first["input_t"] == 'caf\u00e9 "q"\n' and first["input_b"] == 0.0
    )
    assert first["input_k%s"] == 1e-300 and first["output"] == "a\u2028" and first["input_u\u00fc"] is None
    assert json.loads(lines[1])["input_n"] is None and json.loads(lines[1])["input_t"] == "4"


def test_a_request_row_logs_as_it_is(tmp_path: Path, logger: PredictionLogger) -> None:
    row = DemandFeatures(store_id=1, product_id=2, lag_1=3.0, day_of_week=4, month=5, promo_share=0.5)
    logger.log(row, output=6.0, latency_ms=1.0, timestamp=datetime(2024, 1, 2, 3), **MODEL)
    assert logger.flush()
    frame = logged_inputs(read_predictions(tmp_path, "agent2"))
    assert frame.loc[0, "lag_1"] == 3.0 and frame.loc[0, "month"] == 5.0 and pd.isna(frame.loc[0, "lag_7"])
    assert (tmp_path / "agent2" / "date=2024-01-02").is_dir()  # a naive timestamp is UTC


def _writer_processes() -> list[multiprocessing.process.BaseProcess]:
    return multiprocessing.active_children()


def test_a_separate_writer_process_writes_and_a_killed_one_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logger = PredictionLogger("agent2", tmp_path, batch_size=2, flush_interval_s=60, separate_process=True)
    logger.log_batch([{"x": 1.0}, {"x": 2.0}], [1.0, 2.0], latency_ms=1.0, **MODEL)
    assert logger.flush()
    (child,) = _writer_processes()
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]  # started, so it has a pid
    child.join(10)

    with caplog.at_level(logging.WARNING, logger="libs.predictionlog"):
        logger.log_batch([{"x": 3.0}, {"x": 4.0}], [3.0, 4.0], latency_ms=1.0, **MODEL)
        logger.close()
    assert logger.written == 4 and logger.dropped == 0
    assert list(read_predictions(tmp_path, "agent2")["input_x"]) == [1.0, 2.0, 3.0, 4.0]
    assert any("writer process unavailable" in message for message in caplog.messages)
    assert not _writer_processes(), "close() must stop the writer process"


SERVICE_THAT_DIES = """
import multiprocessing, sys, time
from pathlib import Path
from libs.predictionlog.logger import PredictionLogger

logger = PredictionLogger("agent2", Path(sys.argv[1]), batch_size=1, separate_process=True)
logger.log({"x": 1.0}, output=1.0, model_name="m", model_version="1", latency_ms=1.0)
assert logger.flush()
(writer,) = multiprocessing.active_children()
print(writer.pid, flush=True)
time.sleep(120)
"""


def _has_exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}  # a zombie has exited; only its parent can reap it


def test_the_writer_process_exits_when_its_service_is_killed(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE_THAT_DIES, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert service.stdout is not None
        writer = int(service.stdout.readline())
        service.kill()  # SIGKILL: no close(), no atexit, nothing shuts the pool down
        service.wait(10)
        deadline = time.monotonic() + 15
        while not _has_exited(writer) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _has_exited(writer), "the writer process outlived its service"
    finally:
        service.kill()


@pytest.mark.parametrize("separate_process", [False, True])
def test_a_write_applies_the_retention_to_the_agents_log(tmp_path: Path, separate_process: bool) -> None:
    old = tmp_path / "agent2" / "date=2020-01-01" / "part-20200101T000000000000Z-a.jsonl.gz"
    old.parent.mkdir(parents=True)
    old.write_bytes(gzip.compress(b'{"x": 1}\n'))
    os.utime(old, (time.time() - 31 * 86_400,) * 2)  # written 31 days ago
    with PredictionLogger(
        "agent2", tmp_path, batch_size=1, keep_days=30, max_bytes=10**6, separate_process=separate_process
    ) as logger:
        logger.log({"x": 1.0}, output=1.0, latency_ms=1.0, **MODEL)
        assert logger.flush()
    assert not old.exists()
    assert list(read_predictions(tmp_path, "agent2")["input_x"]) == [1.0]


def test_retention_defaults_come_from_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLOPS_PREDICTION_LOG_KEEP_DAYS", "3")
    monkeypatch.setenv("MLOPS_PREDICTION_LOG_MAX_MIB", "5")
    with PredictionLogger("agent2", tmp_path) as logger:
        assert (logger.keep_days, logger.max_bytes) == (3, 5 * 2**20)


def test_a_failing_retention_leaves_the_writer_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(prediction_log, "prune", broken)
    with (
        caplog.at_level(logging.WARNING, logger="libs.predictionlog"),
        PredictionLogger("agent2", tmp_path, batch_size=1, prune_interval_s=0.001) as logger,
    ):
        for value in (1.0, 2.0):
            logger.log({"x": value}, output=value, latency_ms=1.0, **MODEL)
            assert logger.flush()
    assert logger.written == 2
    assert any("retention not applied (RuntimeError: boom)" in message for message in caplog.messages)
    with pytest.raises(ValueError, match="keep_days must be >= 1"):
        PredictionLogger("agent2", tmp_path, keep_days=0, max_bytes=1)
