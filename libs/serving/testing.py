"""Running a BentoML service for real in tests: a `bentoml serve` subprocess on a free loopback port.

Shared by every service's tests so each checks its own API, not process plumbing. The server runs
in its own process group, and stopping it stops BentoML's workers too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from libs.serving.limits import DEFAULT_MAX_BODY_BYTES

CHAMPION_DIR_VARIABLE = "MLOPS_CHAMPION_DIR"  # as in libs.serving.champion, which needs scikit-learn
PREDICTION_LOG_VARIABLE = "MLOPS_PREDICTION_LOG_DIR"
RELOAD_INTERVAL_VARIABLE = "MLOPS_CHAMPION_RELOAD_INTERVAL_S"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @property
    def text(self) -> str:
        return json.dumps(self.body)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> Reply:
        return self._send(urllib.request.Request(self.url + path))  # noqa: S310  loopback http only

    def post(self, path: str, payload: Any = None, *, raw: bytes | None = None) -> Reply:
        data = raw if raw is not None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310  loopback http only
            self.url + path, data=data, headers={"content-type": "application/json"}, method="POST"
        )
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> Reply:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  loopback http only
                return Reply(response.status, _decode(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, _decode(error.read()))

    def ready(self) -> bool:
        try:
            return self.get("/readyz").status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return body.decode(errors="replace")


@contextmanager
def serve(
    command: Sequence[str],
    *,
    env: dict[str, str],
    log: Path,
    port: int | None = None,
    timeout_s: float = 120,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """Starts ``command + ['--host', '127.0.0.1', '--port', port]`` and waits for /readyz.

    ``cwd`` matters for a PEX: ``bentoml serve`` puts its working directory first on sys.path, so
    source folders there would shadow the PEX's own packages."""
    port = port or free_port()
    environment = {**os.environ, "DO_NOT_TRACK": "true", "BENTOML_DO_NOT_TRACK": "true", **env}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout_s
        while not server.ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command)} did not become ready:\n{server.logs()}")
            time.sleep(0.5)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass(frozen=True)
class BadPayload:
    case: str
    body: bytes
    status: int
    named: str  # what the error message must name


def bad_payloads(
    batch_field: str, row: dict[str, Any], *, max_batch: int, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> list[BadPayload]:
    """Every way a batch request can be wrong, with the status and the name the answer must carry."""
    first, numeric = next(iter(row)), next(key for key, value in row.items() if isinstance(value, float))

    def batch(*rows: dict[str, Any]) -> bytes:
        return json.dumps({batch_field: list(rows)}).encode()

    missing = {key: value for key, value in row.items() if key != first}
    return [
        BadPayload("missing field", batch(missing), 400, first),
        BadPayload("wrong type", batch({**row, numeric: "many"}), 400, numeric),
        BadPayload("NaN", batch({**row, numeric: float("nan")}), 400, numeric),
        BadPayload("unknown field", batch({**row, "surprise": 1}), 400, "surprise"),
        BadPayload("empty batch", batch(), 400, batch_field),
        BadPayload("oversized batch", batch(*[row] * (max_batch + 1)), 400, batch_field),
        BadPayload("body over the size limit", b" " * (max_body_bytes + 1), 413, "limit"),
        BadPayload("not JSON", b"{rows: [", 400, ""),
    ]


@contextmanager
def served_champion(
    service: str,
    train: Callable[[Path], T],
    scratch: Path,
    *,
    command: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[T, Server]]:
    """Trains a champion into ``scratch``, points MLOPS_CHAMPION_DIR at it (for in-process calls
    too) and serves ``service`` (``module:Class``) from the current sources over HTTP.

    Prediction logs go to ``scratch/predictions`` and the champion is checked for a new bundle
    every half second, unless ``env`` says otherwise."""
    directory = scratch / "champion"
    champion = train(directory)
    previous = os.environ.get(CHAMPION_DIR_VARIABLE)
    os.environ[CHAMPION_DIR_VARIABLE] = str(directory)
    try:
        command = command or [sys.executable, "-m", "bentoml", "serve", service]
        environment = {
            CHAMPION_DIR_VARIABLE: str(directory),
            "PYTHONPATH": str(Path.cwd()),
            PREDICTION_LOG_VARIABLE: str(scratch / "predictions"),
            RELOAD_INTERVAL_VARIABLE: "0.5",
            **(env or {}),
        }
        with serve(command, env=environment, log=scratch / "server.log") as server:
            yield champion, server
    finally:
        if previous is None:
            os.environ.pop(CHAMPION_DIR_VARIABLE, None)
        else:
            os.environ[CHAMPION_DIR_VARIABLE] = previous


def check_rejected(server: Server, path: str, bad: BadPayload) -> None:
    """The bad payload gets its 4xx naming the field, and the server still answers afterwards."""
    reply = server.post(path, raw=bad.body)
    assert reply.status == bad.status, f"{bad.case}: {reply.status} {reply.text}"
    assert bad.named in reply.text, f"{bad.case}: {reply.text}"
    assert server.ready(), f"{bad.case}: the server stopped answering"


def check_probes(server: Server) -> None:
    assert server.get("/healthz").status == 200
    assert server.get("/readyz").status == 200
    metrics = server.get("/metrics")
    assert metrics.status == 200 and "bentoml_service_request" in str(metrics.body)


def check_hot_reload(
    server: Server,
    path: str,
    payload: Any,
    publish: Callable[[str], object],
    *,
    version: str,
    timeout_s: float = 30,
) -> list[int]:
    """Publishes a new champion with ``publish(version)`` while requests keep flowing, until the
    answers name ``version``; every request must succeed. Returns the statuses seen."""
    statuses = []
    publish(version)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = server.post(path, payload)
        statuses.append(reply.status)
        assert reply.status == 200, f"request failed during reload: {reply.text}"
        if {item["model_version"] for item in reply.body} == {version}:
            return statuses
        time.sleep(0.1)
    raise AssertionError(f"answers never named v{version}:\n{server.logs()}")


def wait_for(condition: Callable[[], T | None], timeout_s: float = 30, what: str = "condition") -> T:
    """Polls ``condition`` until it returns neither None nor False (prediction logs flush every few s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)
