"""Worker counts, each worker's share of the cores, and the operator's settings kept."""

from __future__ import annotations

import pytest

from libs.serving import threads


@pytest.mark.parametrize(
    ("workers", "cores", "expected"),
    [(2, 2.0, 1), (1, 0.5, 1), (1, 2.0, 2), (2, 8.0, 4), (3, 8.0, 2), (16, 2.0, 1)],
)
def test_threads_per_worker(workers: int, cores: float, expected: int) -> None:
    assert threads.threads_per_worker(workers, cores) == expected


def test_cpu_count_means_bentomls_core_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads.CpuResource, "from_system", classmethod(lambda _: 3.0))
    assert (threads.worker_count("cpu_count"), threads.worker_count(5)) == (3, 5)


def test_cores_outside_the_affinity_mask_are_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """``taskset`` or ``docker --cpuset-cpus`` leave the quota alone but pin the process."""
    monkeypatch.setattr(threads.CpuResource, "from_system", classmethod(lambda _: 64.0))
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _: {0, 1})
    assert threads.usable_cores() == 2


def test_unset_variables_get_the_share_and_set_ones_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in threads.THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setattr(threads, "usable_cores", lambda: 4.0)
    assert threads.limit_native_threads(2) == {
        variable: "2" for variable in threads.THREAD_VARIABLES if variable != "OMP_NUM_THREADS"
    }
    assert threads.os.environ["OMP_NUM_THREADS"] == "3"
    assert threads.os.environ["OPENBLAS_NUM_THREADS"] == "2"
