"""Load from wrk: closed-loop keep-alive connections POSTing one body, read back through a Lua hook.

wrk is a C client on epoll, cheap enough that one thread drives 64 connections and leaves most
of the second core to the server under test (client and server share the machine's 2 cores).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from pathlib import Path

from bench.serving.measurement import Measurement

SCRIPT = Path(__file__).resolve().parent / "post.lua"
RESULT_PREFIX = "BENCH_RESULT "


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian when missing and we are root, else a clear failure."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed: run `sudo apt-get install -y wrk` (Debian) and retry")
    print("==> installing wrk (apt-get install -y wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("could not install wrk with apt-get; install it (Debian package `wrk`) and retry")
    return found


def wrk_version(binary: str) -> str:
    # `wrk -v` prints "wrk 4.1.0 [epoll] Copyright ..." and exits non-zero.
    shown = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    words = (shown.stdout + shown.stderr).split()
    return words[1] if len(words) > 1 and words[0] == "wrk" else "unknown"


def run_wrk(
    binary: str, url: str, body: Path, *, connections: int, threads: int, seconds: float
) -> dict[str, int]:
    """One wrk run; the counters its Lua ``done`` hook printed (latencies in microseconds)."""
    command = [
        binary,
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = subprocess.run(
        command,
        env={**os.environ, "BENCH_BODY_FILE": str(body)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    for line in finished.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            counters: dict[str, int] = json.loads(line.removeprefix(RESULT_PREFIX))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            counters["client_cpu_us"] = round(used * 1e6)
            return counters
    raise RuntimeError(
        f"wrk printed no result ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}"
    )


def load(
    binary: str,
    contender: str,
    url: str,
    body: Path,
    *,
    rows: int,
    connections: int,
    threads: int,
    seconds: float,
    warmup: float,
) -> Measurement:
    """A warm-up run at the same concurrency (discarded), then the measured run."""
    if warmup > 0:
        run_wrk(binary, url, body, connections=connections, threads=threads, seconds=warmup)
    counters = run_wrk(binary, url, body, connections=connections, threads=threads, seconds=seconds)
    errors = sum(value for key, value in counters.items() if key.endswith("_errors") or key == "timeouts")
    return Measurement(
        contender=contender,
        concurrency=connections,
        rows_per_request=rows,
        requests=counters["requests"] - counters["status_errors"],  # only 2xx answers count
        seconds=counters["duration_us"] / 1e6,
        p50_ms=counters["p50_us"] / 1000,
        p99_ms=counters["p99_us"] / 1000,
        errors=errors,
        client_cpu_s=counters["client_cpu_us"] / 1e6,
    )
