"""Shadow scoring in-process, with real bundles, a real prediction log and real hot reload."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field
from sklearn.linear_model import LinearRegression

from libs.modelfiles.bundle import Champion, read_champion_bundle, write_champion
from libs.monitoring.prediction_reader import read_predictions
from libs.serving.reload import LiveChampion
from libs.serving.shadow import ShadowScorer, shadow_log_name
from libs.serving.shadow_scoring import ShadowRequest

T = TypeVar("T")

X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [4.0, 1.0]])
ROWS = [[float(a), float(b)] for a, b in X]
LOGGED = [{"a": a, "b": b} for a, b in ROWS]


def _bundle(directory: Path, version: str, slope: float, features: int = 2) -> Champion:
    inputs = np.hstack([X, X[:, :1]])[:, :features]
    model = LinearRegression().fit(inputs, inputs.sum(axis=1) * slope)
    write_champion(model, model_name="toy", model_version=version, directory=directory)
    return read_champion_bundle(directory)


def _predict(model: Any, rows: Sequence[list[float]]) -> Any:
    return model.predict(np.array(rows))


_TEST_PROCESS = "SHADOW_TEST_PROCESS"


def _predict_elsewhere(model: Any, rows: Sequence[list[float]]) -> Any:
    """Refuses to predict in the test's own process, or at any priority but the lowest, or with more
    than one OpenMP or BLAS thread."""
    # scikit-learn's own dependency: not a requirement of the resolve, so not inferred.
    from threadpoolctl import threadpool_info  # pants: no-infer-dep

    if os.getpid() == int(os.environ[_TEST_PROCESS]) or os.nice(0) != 19:
        raise RuntimeError("the shadow scored in the service's process, or not at the lowest priority")
    if os.sched_getscheduler(0) != os.SCHED_IDLE:
        raise RuntimeError("the shadow scored outside the idle scheduling class")
    if any(pool["num_threads"] != 1 for pool in threadpool_info()):
        raise RuntimeError(f"the shadow scored with native thread pools: {threadpool_info()}")
    return _predict(model, rows)


@pytest.fixture
def champion(tmp_path: Path) -> Champion:
    return _bundle(tmp_path / "champion", "1", slope=1.0)


def _scorer(tmp_path: Path, **kwargs: Any) -> ShadowScorer:
    live = LiveChampion(tmp_path / "champion" / "shadow", role="shadow", optional=True, interval_s=0)
    return ShadowScorer("toy", live, log_directory=tmp_path / "log", **kwargs)


def test_the_shadow_scores_what_the_champion_answered_and_both_are_logged(
    tmp_path: Path, champion: Champion
) -> None:
    scorer = _scorer(tmp_path)
    assert scorer.version is None and scorer.live.problem is not None  # no shadow: nothing queued
    answers = [float(value) for value in _predict(champion.model, ROWS)]
    scorer.submit(ROWS, LOGGED, answers, champion, _predict)
    assert scorer.flush() and scorer.scored == 0

    shadow = _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    assert scorer.live.reload_if_changed() and scorer.version == "2"
    scorer.submit(ROWS, LOGGED, answers, champion, _predict)
    assert scorer.flush()
    scorer.close()

    logged = read_predictions(tmp_path / "log", shadow_log_name("toy"))
    assert list(logged["model_version"]) == ["2"] * 4
    assert list(logged["input_champion_version"].astype(str)) == ["1"] * 4
    assert list(logged["input_champion_output"]) == pytest.approx(answers)
    assert list(logged["output"]) == pytest.approx(list(_predict(shadow.model, ROWS)))
    assert list(logged["input_a"]) == [row["a"] for row in LOGGED]
    assert scorer.dropped == {"queue_full": 0, "error": 0}


def test_a_failing_shadow_loses_only_its_own_scores(tmp_path: Path, champion: Champion) -> None:
    _bundle(tmp_path / "champion" / "shadow", "2", slope=1.0, features=3)  # wants 3 features, gets 2
    scorer = _scorer(tmp_path)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush()
    assert scorer.dropped == {"queue_full": 0, "error": 4}
    assert scorer.scored == 0
    scorer.close()


def test_a_slow_shadow_fills_its_bounded_queue_and_the_rest_is_dropped_not_waited_for(
    tmp_path: Path, champion: Champion
) -> None:
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    entered, release = threading.Event(), threading.Event()

    def stuck_shadow(model: Any, rows: Sequence[list[float]]) -> Any:
        if model is not champion.model:
            entered.set()
            release.wait(30)
        return _predict(model, rows)

    scorer = _scorer(tmp_path, max_queue=2)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, stuck_shadow)
    assert entered.wait(10)  # the worker holds the first request
    for _ in range(5):  # two fit in the queue, three do not
        scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, stuck_shadow)
    assert scorer.dropped == {"queue_full": 12, "error": 0}
    release.set()
    assert scorer.flush()
    assert scorer.scored == 12
    scorer.close()


def test_a_removed_shadow_bundle_stops_shadow_scoring(tmp_path: Path, champion: Champion) -> None:
    directory = tmp_path / "champion" / "shadow"
    _bundle(directory, "2", slope=2.0)
    scorer = _scorer(tmp_path)
    assert scorer.version == "2"
    for path in directory.iterdir():
        path.unlink()
    assert scorer.live.reload_if_changed()
    assert scorer.version is None and not scorer.live.ready
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush() and scorer.scored == 0
    scorer.close()


def test_requests_queued_together_are_scored_in_one_call_each_logged_as_its_own(
    tmp_path: Path, champion: Champion
) -> None:
    shadow = _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path, gather_s=0.5)
    requests = [[[float(n), float(n + 1)]] for n in range(10)]
    for rows in requests:  # all within the gathering window of the first
        scorer.submit(rows, [{"a": a, "b": b} for a, b in rows], [float(len(rows))], champion, _predict)
    assert scorer.flush()
    scorer.close()
    assert scorer.calls == 1 and scorer.scored == 10
    logged = read_predictions(tmp_path / "log", shadow_log_name("toy"))
    assert list(logged["input_a"]) == [rows[0][0] for rows in requests]
    assert logged["timestamp"].is_unique and logged["timestamp"].is_monotonic_increasing  # answer times
    assert list(logged["output"]) == pytest.approx(
        [float(v) for v in _predict(shadow.model, [row for rows in requests for row in rows])]
    )


def test_one_bad_request_in_a_merged_call_costs_only_its_own_shadow_scores(
    tmp_path: Path, champion: Champion
) -> None:
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path, gather_s=0.5)

    def refuses_nan(model: Any, rows: Sequence[list[float]]) -> Any:
        if any(np.isnan(value) for row in rows for value in row):
            raise ValueError("NaN in the shadow's input")
        return _predict(model, rows)

    good, bad = [[1.0, 2.0], [3.0, 4.0]], [[float("nan"), 1.0]]
    for rows in (good, bad, good):
        scorer.submit(rows, [{"a": a, "b": b} for a, b in rows], [0.0] * len(rows), champion, refuses_nan)
    assert scorer.flush()
    scorer.close()
    assert scorer.scored == 4 and scorer.dropped == {"queue_full": 0, "error": 1}
    assert scorer.calls == 4  # the merged call, then each request on its own


def test_a_request_that_breaks_the_shadow_thread_is_counted_and_the_thread_scores_the_next(
    tmp_path: Path, champion: Champion
) -> None:
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path, gather_s=0.0)
    unloggable: Any = [object()]  # not a mapping: the shadow's log record cannot be built
    scorer.submit(ROWS[:1], unloggable, [0.0], champion, _predict)
    assert scorer.flush()
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush()
    scorer.close()
    assert scorer.dropped == {"queue_full": 0, "error": 1} and scorer.scored == 4


def test_a_request_whose_rows_logs_and_answers_disagree_is_refused_before_it_can_shift_others(
    tmp_path: Path, champion: Champion
) -> None:
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path)
    scorer.submit(ROWS, LOGGED[:3], [0.0] * 4, champion, _predict)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush()
    scorer.close()
    assert scorer.dropped == {"queue_full": 0, "error": 4} and scorer.scored == 4
    logged = read_predictions(tmp_path / "log", shadow_log_name("toy"))
    assert list(logged["input_a"]) == [row["a"] for row in LOGGED]


def test_in_a_service_the_shadow_scores_and_logs_in_a_child_process_at_the_lowest_priority(
    tmp_path: Path, champion: Champion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_TEST_PROCESS, str(os.getpid()))  # the child inherits it
    shadow = _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path, separate_process=True)
    answers = [float(value) for value in _predict(champion.model, ROWS)]
    for _ in range(3):
        scorer.submit(ROWS, LOGGED, answers, champion, _predict_elsewhere)
    assert scorer.flush()
    scorer.close()
    assert scorer.dropped == {"queue_full": 0, "error": 0} and scorer.scored == 12
    logged = read_predictions(tmp_path / "log", shadow_log_name("toy"))
    assert list(logged["model_version"]) == ["2"] * 12
    assert list(logged["output"]) == pytest.approx(list(_predict(shadow.model, ROWS)) * 3)
    assert list(logged["input_champion_output"]) == pytest.approx(answers * 3)


def test_a_failing_shadow_in_the_child_is_counted_in_the_service(tmp_path: Path, champion: Champion) -> None:
    _bundle(tmp_path / "champion" / "shadow", "2", slope=1.0, features=3)  # wants 3 features, gets 2
    scorer = _scorer(tmp_path, separate_process=True)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush()
    assert scorer._child is not None and scorer._child.started and scorer._child.usable  # not the thread
    scorer.close()
    assert scorer.dropped == {"queue_full": 0, "error": 4} and scorer.scored == 0


def test_a_request_that_cannot_cross_to_the_child_costs_its_own_rows_and_the_child_lives_on(
    tmp_path: Path, champion: Champion
) -> None:
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path, separate_process=True, gather_s=0.5)  # both requests in one batch
    assert scorer.flush()  # the child is up before the batch gathers
    first = _child_pids(scorer)
    scorer.submit([[0.0, threading.Lock()]], [{"a": 0.0}], [0.0], champion, _predict)  # a lock: no pickle
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush()
    assert scorer.dropped == {"queue_full": 0, "error": 1} and scorer.scored == 4 and scorer.calls == 1
    scorer.submit([[0.0, threading.Lock()]], [{"a": 0.0}], [0.0], champion, _predict)  # alone this time
    assert scorer.flush()
    assert scorer.dropped["error"] == 2 and _child_pids(scorer) == first
    scorer.close()


def wait_for(condition: Callable[[], T | None], timeout_s: float = 30, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout_s
    while (value := condition()) is None:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def _child_pids(scorer: ShadowScorer) -> list[int]:
    child = scorer._child
    assert child is not None and child._pool is not None
    return list(child._pool._processes)


def _child_with_a_reported_batch(tmp_path: Path, champion: Champion) -> ShadowScorer:
    """A scorer whose child has scored one request's 4 rows and said so; its log writes every 5 s."""
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path, separate_process=True, gather_s=0.0)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    wait_for(lambda: scorer.scored == 4 or None, what="the child's first batch")
    return scorer


def test_a_killed_shadow_process_loses_its_unwritten_rows_counted_and_a_new_one_scores_on(
    tmp_path: Path, champion: Champion
) -> None:
    scorer = _child_with_a_reported_batch(tmp_path, champion)  # scored, not yet written
    first = _child_pids(scorer)
    for pid in first:
        os.kill(pid, signal.SIGKILL)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)  # finds the child dead
    wait_for(lambda: scorer.dropped["error"] >= 4 or None, what="the lost rows counted")
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)  # a new child scores it
    assert scorer.flush()
    assert _child_pids(scorer) != first
    scorer.close()
    logged = read_predictions(tmp_path / "log", shadow_log_name("toy"))
    # The first batch's rows were unwritten when the child died (its log writes every 5 s), unless
    # a write fell in the moment before the kill: either way each row is scored and logged, or
    # counted as dropped, never both and never neither (the next test makes that write happen).
    assert scorer.scored == len(logged) and scorer.scored + scorer.dropped["error"] == 12
    assert scorer.dropped == {"queue_full": 0, "error": 8 if len(logged) == 4 else 4}


def test_rows_a_killed_child_wrote_after_its_last_report_count_as_scored_not_lost(
    tmp_path: Path, champion: Champion
) -> None:
    scorer = _child_with_a_reported_batch(tmp_path, champion)  # reported before written
    child = scorer._child
    assert child is not None and child._written is not None
    written = child._written
    wait_for(lambda: written.value == 4 or None, timeout_s=15, what="the child's log write")  # every 5 s
    for pid in _child_pids(scorer):
        os.kill(pid, signal.SIGKILL)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)  # finds the child dead: only these are lost
    wait_for(lambda: scorer.dropped["error"] >= 4 or None, what="the lost rows counted")
    scorer.close()
    assert len(read_predictions(tmp_path / "log", shadow_log_name("toy"))) == 4
    assert scorer.scored == 4 and scorer.dropped == {"queue_full": 0, "error": 4}


def test_a_service_without_a_shadow_starts_no_child_and_closes_at_once(tmp_path: Path) -> None:
    scorer = _scorer(tmp_path, separate_process=True)
    started = time.monotonic()
    assert scorer.flush()
    scorer.close()
    assert scorer._child is not None and not scorer._child.started
    assert time.monotonic() - started < 5


_HANG = "SHADOW_TEST_HANG"


def _predict_hangs(model: Any, rows: Sequence[list[float]]) -> Any:
    if os.environ.get(_HANG):
        time.sleep(120)
    return _predict(model, rows)


def test_closing_does_not_wait_past_its_budget_for_a_hung_shadow_and_leaves_no_process(
    tmp_path: Path, champion: Champion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_HANG, "1")
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    scorer = _scorer(tmp_path, separate_process=True, gather_s=0.0)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict_hangs)
    pids = wait_for(lambda: _child_pids(scorer) or None, what="the child")
    time.sleep(1.0)  # it is inside the hung predict
    started = time.monotonic()
    scorer.close(timeout_s=3.0)
    assert time.monotonic() - started < 8
    assert scorer.dropped["error"] == 4 and scorer.scored == 0

    def gone() -> bool | None:
        return all(not Path(f"/proc/{pid}").exists() for pid in pids) or None

    wait_for(gone, timeout_s=5, what="the hung child killed")


def test_the_child_scores_with_the_bundle_as_it_is_when_each_batch_arrives(
    tmp_path: Path, champion: Champion
) -> None:
    directory = tmp_path / "champion" / "shadow"
    _bundle(directory, "2", slope=2.0)
    scorer = _scorer(tmp_path, separate_process=True, gather_s=0.0)
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush()
    replaced = _bundle(directory, "3", slope=3.0)
    assert scorer.live.reload_if_changed()  # the worker's watcher; the child has none of its own
    scorer.submit(ROWS, LOGGED, [0.0] * 4, champion, _predict)
    assert scorer.flush()
    scorer.close()
    logged = read_predictions(tmp_path / "log", shadow_log_name("toy"))
    assert list(logged["model_version"]) == ["2"] * 4 + ["3"] * 4
    assert list(logged["output"])[4:] == pytest.approx(list(_predict(replaced.model, ROWS)))


def test_a_request_crosses_to_the_shadows_process_as_values_and_arrives_unchanged() -> None:
    from libs.messages import DemandFeatures

    rows = [
        DemandFeatures(store_id=1, product_id=2, day_of_week=3, month=5, promo_share=0.25, lag_1=float(index))
        for index in range(28)
    ]
    logged = [row.model_dump() for row in rows]
    answered_at = datetime.now(UTC)
    request = ShadowRequest(rows, logged, [np.float64(1.5)] * 28, "7", _predict, answered_at)
    crossed = pickle.loads(pickle.dumps(request))  # noqa: S301  bytes this test just made
    assert crossed == ShadowRequest(rows, logged, [1.5] * 28, "7", _predict, answered_at)
    assert all(type(row) is DemandFeatures for row in crossed.rows)
    assert [row.model_fields_set for row in crossed.rows] == [row.model_fields_set for row in rows]
    assert len(pickle.dumps(request)) < 0.75 * len(pickle.dumps((rows, logged)))  # values, not objects

    # Anything else crosses as it is: plain rows, records with differing keys, mixed row types, and
    # models whose instances hold more than their fields' values (extra fields here).
    mixed = ShadowRequest(
        [ROWS[0], rows[0]], [{"a": 1.0}, {"b": 2.0}], [1.0, 2.0], "7", _predict, answered_at
    )
    assert pickle.loads(pickle.dumps(mixed)) == mixed  # noqa: S301  bytes this test just made
    roomy = [_Roomy.model_validate({"a": 1.0, "note": "kept"})]
    request = ShadowRequest(roomy, [{"a": 1.0}], [1.0], "7", _predict, answered_at)
    crossed = pickle.loads(pickle.dumps(request))  # noqa: S301  bytes this test just made
    assert crossed.rows == roomy and crossed.rows[0].model_extra == {"note": "kept"}
    swapped = [_Swapped.model_validate({"b": 1.0, "a": 2.0})]  # a=1.0, b=2.0
    request = ShadowRequest(swapped, [{"a": 1.0}], [1.0], "7", _predict, answered_at)
    crossed = pickle.loads(pickle.dumps(request))  # noqa: S301  bytes this test just made
    assert (crossed.rows[0].a, crossed.rows[0].b) == (1.0, 2.0)


class _Roomy(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: float


class _Swapped(BaseModel):
    """Each field's alias is the other's name: rebuilt from names by ``model_construct``, they swap."""

    a: float = Field(alias="b")
    b: float = Field(alias="a")


_CLOSE_AND_EXIT = """
import os, sys
from pathlib import Path
from libs.modelfiles.bundle import read_champion_bundle
from libs.serving.reload import LiveChampion
from libs.serving.shadow import ShadowScorer
from libs.serving.shadow_test import LOGGED, ROWS, _predict

folder = Path(sys.argv[1])
live = LiveChampion(folder / "champion" / "shadow", role="shadow", optional=True, interval_s=0)
scorer = ShadowScorer("toy", live, log_directory=folder / "log", separate_process=True)
scorer.submit(ROWS, LOGGED, [0.0] * 4, read_champion_bundle(folder / "champion"), _predict)
assert scorer.flush() and scorer.scored == 4
scorer.close()
os._exit(0)  # as a server's worker ends: no interpreter shutdown to release what close left behind
"""


def test_a_closed_child_leaves_nothing_for_the_resource_tracker_to_report(
    tmp_path: Path, champion: Champion
) -> None:
    # What a stopping server printed: the tracker's "leaked semaphore objects to clean up at shutdown".
    _bundle(tmp_path / "champion" / "shadow", "2", slope=2.0)
    finished = subprocess.run(
        [sys.executable, "-c", _CLOSE_AND_EXIT, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "leaked" not in finished.stderr, finished.stderr[-2000:]
