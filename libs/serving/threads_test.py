"""Each worker's share of the cores for native thread pools, and the operator's settings kept."""

from __future__ import annotations

import pytest

from libs.serving import threads


@pytest.mark.parametrize(
    ("workers", "cores", "expected"),
    [("cpu_count", 2.0, 1), ("cpu_count", 0.5, 1), (1, 2.0, 2), (2, 8.0, 4), (3, 8.0, 2), (16, 2.0, 1)],
)
def test_threads_per_worker(workers: int | str, cores: float, expected: int) -> None:
    assert threads.threads_per_worker(workers, cores) == expected


def test_unset_variables_get_the_share_and_set_ones_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in threads.THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setattr(threads.CpuResource, "from_system", classmethod(lambda _: 4.0))
    assert threads.limit_native_threads(2) == {
        variable: "2" for variable in threads.THREAD_VARIABLES if variable != "OMP_NUM_THREADS"
    }
    assert threads.os.environ["OMP_NUM_THREADS"] == "3"
    assert threads.os.environ["OPENBLAS_NUM_THREADS"] == "2"
