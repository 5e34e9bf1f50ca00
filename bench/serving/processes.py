"""Servers under test as subprocesses: each in its own process group, ready before use, always stopped.

Both servers fork workers (BentoML's arbiter, MLflow's uvicorn behind bash), so stopping the
group, not just the leader, is what leaves nothing running behind the benchmark.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.commands import TELEMETRY_OFF

# Every process the benchmark starts runs with telemetry off (and so never looks for its hosts).
QUIET = TELEMETRY_OFF


def quiet_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **QUIET, **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.is_file() else ""


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  loopback http only
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def serving(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    ready_path: str,
    env: dict[str, str],
    log: Path,
    cwd: Path,
    timeout_s: float = 180,
) -> Iterator[Server]:
    """Starts ``command`` (which must listen on 127.0.0.1:``port``) and yields once ``ready_path`` answers."""
    server = Server(name, f"http://127.0.0.1:{port}", log)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not answers(server.url + ready_path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become ready; its log ends:\n{server.tail()}")
            time.sleep(0.5)
        yield server
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes], grace_s: float = 20) -> None:
    """SIGTERM to the whole group, SIGKILL after ``grace_s``; also reaps a group whose leader exited."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their leader, if any
    process.wait()
