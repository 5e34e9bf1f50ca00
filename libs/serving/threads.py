"""How many workers a service runs, and each one's share of the cores for native thread pools.

scikit-learn's histogram gradient boosting predicts with OpenMP, and numpy and scipy call OpenBLAS;
unless told otherwise each starts one thread per core in every process. BentoML 1.4 starts one
worker per core and, for CPU services, sets no thread limits (its older runners set
``OMP_NUM_THREADS``; services do not), so two busy workers ran four spinning OpenMP threads on two
cores: agent2 on 2 workers answered 44 requests/s where one thread each answered 590.

The limits are environment variables, set as the service is declared: BentoML's arbiter declares it
before it starts the workers, which inherit its environment and read the variables when their
libraries load. (``omp_set_num_threads``, what threadpoolctl calls, would limit only the calling
thread, and predictions run on BentoML's thread pool.) A value the operator set is kept.
"""

from __future__ import annotations

import os

from bentoml._internal.resource import CpuResource  # how BentoML counts cores for "cpu_count"

# The variables OpenMP, OpenBLAS, MKL and numexpr read as their library loads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def worker_count(workers: int | str) -> int:
    """The worker processes BentoML starts for a ``workers`` option (``"cpu_count"``: its core count)."""
    return max(1, int(CpuResource.from_system())) if workers == "cpu_count" else int(workers)


def usable_cores() -> float:
    """Cores this process may run on: BentoML's count (cgroup quota) within the CPU affinity mask."""
    return min(CpuResource.from_system(), len(os.sched_getaffinity(0)))


def threads_per_worker(workers: int, cores: float) -> int:
    """``cores`` shared by ``workers`` processes, at least one thread each."""
    return max(1, int(cores) // max(1, workers))


def limit_native_threads(workers: int) -> dict[str, str]:
    """Sets each thread variable the environment lacks to one worker's share; returns those set."""
    threads = str(threads_per_worker(workers, usable_cores()))
    missing = {variable: threads for variable in THREAD_VARIABLES if not os.environ.get(variable)}
    os.environ.update(missing)
    return missing
