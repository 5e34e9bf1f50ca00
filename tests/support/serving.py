"""Running a BentoML service for real in tests: a `bentoml serve` subprocess on a free loopback port.

Shared by every service's tests so each checks its own API, not process plumbing. The server runs
in its own process group, and stopping it stops BentoML's workers too. It also stops when the test
process dies without stopping it (Pants kills a test run it abandons, a developer presses Ctrl-C
twice): a server left behind holds its port and a core until someone finds it.
"""

from __future__ import annotations

import ctypes
import gzip
import json
import os
import pickle  # to prove the servers never unpickle what they are sent
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from libs.serving.limits import BODY_READ_IDLE_S, DEFAULT_MAX_BODY_BYTES

CHAMPION_DIR_VARIABLE = "MLOPS_CHAMPION_DIR"  # as in libs.modelfiles.bundle, which needs scikit-learn
PREDICTION_LOG_VARIABLE = "MLOPS_PREDICTION_LOG_DIR"
RELOAD_INTERVAL_VARIABLE = "MLOPS_CHAMPION_RELOAD_INTERVAL_S"
T = TypeVar("T")


# Below Linux's ephemeral range (32768-60999), from which the OS draws both `bind(0)` answers and
# every outgoing connection's local port: a port found free there can be taken by a client socket
# or by a test running beside this one before the server binds it.
PORT_RANGE = (20_000, 32_000)


def free_port() -> int:
    """A loopback port nothing listens on, drawn at random so tests running side by side differ."""
    chooser = random.SystemRandom()
    while True:
        port = chooser.randrange(*PORT_RANGE)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _listening_pids(port: int) -> set[int]:
    """The processes holding a listening socket on ``port``."""
    return set(_socket_holders(port, "0A"))  # 0A: LISTEN


def connection_holders(port: int) -> Counter[int]:
    """How many established connections to local ``port`` each process holds: a server's workers."""
    return _socket_holders(port, "01")  # 01: ESTABLISHED


def _socket_holders(port: int, state: str) -> Counter[int]:
    """Processes holding sockets on local ``port`` in TCP ``state`` (Linux /proc: socket inodes to fds)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    holders: Counter[int] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            held = sum(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir())
        except OSError:
            continue
        if held:
            holders[int(entry.name)] = held
    return holders


def niceness_of_descendants(process: subprocess.Popen[bytes]) -> dict[int, int]:
    """The nice value of every process ``process`` started, directly or not (a server's workers and
    their children), by pid, from /proc/<pid>/stat."""
    parents, nice = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])  # fields after the name: state, ppid, ..., nice
        nice[int(entry.name)] = int(fields[16])
    found, frontier = {}, {process.pid}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found.update({pid: nice[pid] for pid in frontier})
    return found


def _serves_port(process: subprocess.Popen[bytes], port: int) -> bool:
    """Whether ``port`` is held by ``process`` or its workers (its own session), not by another server."""
    for pid in _listening_pids(port):
        try:
            if os.getpgid(pid) == process.pid:
                return True
        except OSError:  # gone meanwhile
            continue
    return False


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    size: int = 0  # bytes of body received

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

    def post(
        self,
        path: str,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310  loopback http only
            self.url + path,
            data=data,
            headers={"content-type": content_type, **(headers or {})},
            method="POST",
        )
        return self._send(request)

    def exchange(self, request: bytes, *, timeout_s: float = 60) -> RawReply:
        """Sends ``request`` (raw HTTP/1.1 bytes, sent as they are: headers twice, a body cut short)
        on a new connection and reads one answer, and whether the server then closed the connection."""
        host, port = self.url.removeprefix("http://").split(":")
        started = time.monotonic()
        with socket.create_connection((host, int(port)), timeout=timeout_s) as connection:
            connection.sendall(request)
            return _read_answer(connection, started)

    def _send(self, request: urllib.request.Request) -> Reply:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  loopback http only
                body = response.read()
                return Reply(response.status, _decode(body), _lower(response.headers.items()), len(body))
        except urllib.error.HTTPError as error:
            body = error.read()
            return Reply(error.code, _decode(body), _lower(error.headers.items()), len(body))

    def ready(self) -> bool:
        try:
            return self.get("/readyz").status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def alive(self) -> bool:
        try:
            return self.get("/healthz").status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass(frozen=True)
class RawReply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    seconds: float  # from sending the request to the end of the answer
    closed: bool  # the server closed the connection after the answer

    def json(self) -> Any:
        return json.loads(self.body)


def _read_answer(connection: socket.socket, started: float) -> RawReply:
    """One HTTP/1.1 answer with a Content-Length (all the services send), then whether the
    connection is closed: the next read gets end-of-file (or a reset) within a second."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536) or _eof(data)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    while len(body) < int(headers.get("content-length", 0)):
        body += connection.recv(65536) or _eof(body)
    seconds = time.monotonic() - started
    connection.settimeout(1)
    try:
        closed = connection.recv(1) == b""
    except TimeoutError:
        closed = False
    except ConnectionResetError:
        closed = True
    return RawReply(int(status_line.split()[1]), headers, body, seconds, closed)


def _eof(received: bytes) -> bytes:
    raise ConnectionError(f"the server closed the connection mid-answer, after {received[:300]!r}")


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # not JSON, or not text at all (an image)
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
    host: str | None = "127.0.0.1",
    ready: bool = True,
) -> Iterator[Server]:
    """Starts ``command + ['--host', host, '--port', port]`` and waits for /readyz (or, with
    ``ready=False``, only for /healthz: a service that is up but must refuse readiness).

    ``host=None`` passes no ``--host``, so the service's own default binding applies. ``cwd``
    matters for a PEX: ``bentoml serve`` puts its working directory first on sys.path, so source
    folders there would shadow the PEX's own packages. Each server gets its own ``BENTOML_HOME``
    (unless ``env`` names one): BentoML empties ``$BENTOML_HOME/prometheus_multiproc_dir`` as a
    server starts, so servers sharing a home (tests running side by side) wipe each other's
    /metrics. One worker process unless ``env`` sets ``MLOPS_SERVE_WORKERS``: tests check a
    service's API, and a worker per core in every test server doubles their start-up cost."""
    port = port or free_port()
    home = tempfile.mkdtemp(prefix="bentoml-home-")
    environment = {
        **os.environ,
        "DO_NOT_TRACK": "true",
        "BENTOML_DO_NOT_TRACK": "true",
        "BENTOML_HOME": home,
        "MLOPS_SERVE_WORKERS": "1",
        **env,
    }
    binding = ["--host", host] if host else []
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, *binding, "--port", str(port)],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent,  # one prctl call: safe in a child of a threaded parent
            cwd=cwd,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout_s
        # Ready, and ready itself: a server of another test on the same port must not pass for it.
        while not ((server.ready() if ready else server.alive()) and _serves_port(process, port)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command)} did not become ready:\n{server.logs()}")
            time.sleep(0.5)
        yield server
    finally:
        stop(process)
        shutil.rmtree(home, ignore_errors=True)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Looked up here, in the test process: between fork and exec the child may only make the call
# (the dynamic loader's lock could be held by another thread at the fork).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _stop_with_parent() -> None:
    """Runs in the server's process before it starts: SIGTERM (BentoML's graceful stop, which ends its
    workers) when the thread that started it ends, so a server is never outlived by its test.

    The kernel ties this to the starting thread, not process: start servers from the test's own
    thread, or from one that outlives them. Linux only: elsewhere a server outlives a killed test."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


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


def _arrived(value: object) -> bool:
    """None, False and an empty collection mean "not yet"; 0 is an answer (a counter still at zero)."""
    if value is None or value is False:
        return False
    return not (isinstance(value, Sized) and len(value) == 0)


def wait_for(condition: Callable[[], T | None], timeout_s: float = 30, what: str = "condition") -> T:
    """Polls ``condition`` until it returns something (prediction logs flush every few s, Prometheus
    scrapes every second): not None, not False and not an empty list such as a query with no rows."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if _arrived(value):
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


AGENT_SERVICES = {
    "agent1": "services.agent1.service:TransactionSentinel",
    "agent2": "services.agent2.service:DemandForecaster",
    "agent3": "services.agent3.service:ChurnClassifier",
}
COORDINATOR_SERVICE = "services.coordinator.service:Coordinator"


class Fleet:
    """The three agents from their packaged serve PEXes, each on its own port with a champion
    bundle (tiny ones trained by their ``tiny-champion`` PEXes unless ``champions`` are given), and
    restartable one at a time on the same port; plus the coordinator pointed at them.

    ``pex_dir`` holds Pants' package layout (``agents.agent1/serve.pex``...): the test sandbox's
    working directory for ``runtime_package_dependencies``, or ``dist/``."""

    def __init__(self, pex_dir: Path, root: Path, champions: dict[str, Path] | None = None) -> None:
        self.pex_dir = pex_dir
        self.root = root
        self.ports = {agent: free_port() for agent in AGENT_SERVICES}
        self.stacks: dict[str, ExitStack] = {}
        self.servers: dict[str, Server] = {}
        self.champions = champions or {agent: root / agent for agent in AGENT_SERVICES}
        for agent in AGENT_SERVICES if champions is None else ():
            tiny = self.pex(f"agents/{agent}", "tiny-champion")
            subprocess.run([sys.executable, tiny, "--out", str(root / agent)], check=True)

    def pex(self, directory: str, name: str) -> str:
        return str(self.pex_dir / directory.replace("/", ".") / f"{name}.pex")

    def command(self, agent: str) -> list[str]:
        """``agent``'s production command, from its serve PEX."""
        return [sys.executable, self.pex(f"agents/{agent}", "serve"), "serve", AGENT_SERVICES[agent]]

    def env(self, agent: str) -> dict[str, str]:
        return {CHAMPION_DIR_VARIABLE: str(self.champions[agent])}

    def start(self, agent: str) -> Server:
        stack = ExitStack()
        command, env, log = self.command(agent), self.env(agent), self.root / f"{agent}.log"
        server = stack.enter_context(serve(command, env=env, log=log, port=self.ports[agent], cwd=self.root))
        self.servers[agent], self.stacks[agent] = server, stack
        return server

    def stop(self, agent: str) -> None:
        self.stacks.pop(agent).close()

    def stop_all(self) -> None:
        for agent in list(self.stacks):
            self.stop(agent)

    def urls(self) -> dict[str, str]:
        return {
            f"MLOPS_{agent.upper()}_URL": f"http://127.0.0.1:{port}" for agent, port in self.ports.items()
        }

    @contextmanager
    def coordinator(
        self, command: Sequence[str] | None = None, env: dict[str, str] | None = None
    ) -> Iterator[Server]:
        """The coordinator (its serve PEX unless ``command`` is given) calling these agents."""
        command = command or [
            sys.executable,
            self.pex("services/coordinator", "serve"),
            "serve",
            COORDINATOR_SERVICE,
        ]
        environment = {**self.urls(), **(env or {})}
        with serve(command, env=environment, log=self.root / "coordinator.log", cwd=self.root) as server:
            yield server


def listening_hosts(port: int) -> set[str]:
    """The local addresses a socket listens on at ``port`` on this machine (Linux /proc), e.g.
    {'127.0.0.1'} or {'0.0.0.0'}: what a server bound to, seen from outside the process."""
    hosts = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            packed = bytes.fromhex(address)
            # /proc prints each 32-bit word in host (little-endian) order.
            words = b"".join(packed[i : i + 4][::-1] for i in range(0, len(packed), 4))
            hosts.add(socket.inet_ntop(socket.AF_INET if width == 4 else socket.AF_INET6, words))
    return hosts


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# How a champion's model file can be broken, and what the service's log line must then say.
CHAMPION_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (Path.unlink, "is missing"),
    "truncated": (_truncate, "cannot be loaded"),
}


def check_broken_champion(
    service: str, train: Callable[[Path], object], scratch: Path, fault: str, path: str, payload: Any
) -> None:
    """Serves ``service`` (``module:Class``, from the current sources, with no ``--host``: it must
    bind to loopback only) on a champion bundle whose model file is ``fault`` (a key of
    CHAMPION_FAULTS): it must stay alive but refuse readiness and answer ``path`` with 503, with
    one log line naming the file and the reason; then a good bundle, exported while it runs,
    makes it ready and answering."""
    bundle = scratch / "champion"
    train(bundle)
    model = bundle / "model.skops"  # libs.modelfiles.bundle.MODEL_FILE, which needs scikit-learn
    breaks, reason = CHAMPION_FAULTS[fault]
    breaks(model)
    env = {
        CHAMPION_DIR_VARIABLE: str(bundle),
        "PYTHONPATH": str(Path.cwd()),
        PREDICTION_LOG_VARIABLE: str(scratch / "predictions"),
        RELOAD_INTERVAL_VARIABLE: "0.5",
    }
    command = [sys.executable, "-m", "bentoml", "serve", service]
    port = free_port()
    with serve(command, env=env, log=scratch / "server.log", port=port, host=None, ready=False) as server:
        assert listening_hosts(port) == {"127.0.0.1"}, "not bound to loopback only when not told a host"
        assert server.get("/readyz").status == 503, "ready without a champion"
        log = server.log.read_text(errors="replace")
        lines = [line for line in log.splitlines() if "champion not loaded" in line]
        assert len(lines) == 1 and "Traceback" not in log, f"expected one clear line:\n{log[-3000:]}"
        assert str(model) in lines[0] and reason in lines[0], lines[0]
        refused = server.post(path, payload)  # BentoML logs the refusal with its traceback, as any error
        assert refused.status == 503, f"answered without a champion: {refused.status} {refused.text}"
        train(bundle)
        wait_for(server.ready, what="readiness once a good champion is exported")
        answered = server.post(path, payload)
        assert answered.status == 200, answered.text


class _Planted:
    """A pickle that, if anything unpickled it, would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def check_no_pickles(server: Server, path: str, scratch: Path) -> None:
    """A pickle sent as octet-stream, as pickle or as "JSON" is refused with a 4xx and a message,
    and is never unpickled (its payload would create a folder)."""
    marker = scratch / "unpickled"
    body = pickle.dumps(_Planted(marker))
    for content_type in ("application/octet-stream", "application/python-pickle", "application/json"):
        reply = server.post(path, raw=body, content_type=content_type)
        assert 400 <= reply.status < 500, f"{content_type}: {reply.status} {reply.text}"
        assert reply.text.strip('"'), f"{content_type}: a 4xx without a message"
    assert not marker.exists(), "the server unpickled a request body"
    assert server.ready()


def _post_head(path: str, *headers: str) -> bytes:
    return "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]).encode()


def check_stalled_body(server: Server, path: str, payload: Any) -> None:
    """A body that stops arriving short of its Content-Length is a JSON 408 after BODY_READ_IDLE_S,
    well before the traffic timeout's 504, and the connection is closed; meanwhile other clients
    are answered at once; the log has no traceback and /metrics counts a 408, no 5xx."""
    before = server.log.stat().st_size
    stalled = _post_head(path, "Content-Type: application/json", "Content-Length: 1000") + b"[" + b" " * 49
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(server.exchange, stalled)
        time.sleep(1)
        started = time.monotonic()
        other = server.post(path, payload)
        assert other.status == 200 and time.monotonic() - started < 5, f"another client waited: {other}"
        reply = answer.result()
    assert reply.status == 408, f"{reply.status} {reply.body[:300]!r}"
    assert "50 bytes" in reply.json()["error"], reply.body
    assert BODY_READ_IDLE_S - 1 < reply.seconds < BODY_READ_IDLE_S + 5, reply.seconds
    assert reply.closed, "the connection was left open after a 408"

    def with_the_408() -> list[str] | None:
        codes = response_codes(server, path)
        return codes if "408" in codes else None

    codes = wait_for(with_the_408, what="the 408 in /metrics")
    assert not [code for code in codes if code.startswith("5")], codes
    time.sleep(0.5)
    log = server.log.read_bytes()[before:]
    assert b"Traceback" not in log and b"504" not in log, log[-3000:]


def response_codes(server: Server, path: str) -> list[str]:
    """The ``http_response_code`` labels /metrics has counted requests to ``path`` under (BentoML
    lists a 500 series at 0 from the start: only counts above 0 are taken)."""
    codes = []
    for line in str(server.get("/metrics").body).splitlines():
        if line.startswith("bentoml_service_request_total{"):
            series, _, count = line.rpartition(" ")
            labels = dict(re.findall(r'(\w+)="([^"]*)"', series))
            if labels.get("endpoint") == path and float(count) > 0:
                codes.append(labels.get("http_response_code", ""))
    return codes


def check_json_charset_and_coding(server: Server, path: str, payload: Any) -> None:
    """JSON in another charset than UTF-8, or under a Content-Encoding other than identity, is a
    415 naming it; two Content-Type headers are a 400; UTF-8 declared any way is served."""
    text = json.dumps(payload)
    refused = [
        ("application/json; charset=utf-16", {}, text.encode("utf-16"), "utf-16"),
        ('application/json; CHARSET="ISO-8859-1"', {}, text.encode("latin-1"), "ISO-8859-1"),
        ("application/json", {"Content-Encoding": "gzip"}, gzip.compress(text.encode()), "gzip"),
        ("application/json", {"Content-Encoding": "br"}, text.encode(), "br"),
    ]
    for content_type, headers, body, named in refused:
        reply = server.post(path, raw=body, content_type=content_type, headers=headers)
        assert reply.status == 415 and named in reply.body["error"], f"{content_type} {headers}: {reply}"
    for content_type, headers in [
        ('application/json; charset="UTF-8"', {}),
        ("application/json; charset=utf-8", {"Content-Encoding": "identity"}),
    ]:
        reply = server.post(path, raw=text.encode(), content_type=content_type, headers=headers)
        assert reply.status == 200, f"{content_type} {headers}: {reply}"
    body = text.encode()
    twice = _post_head(
        path, "Content-Type: application/json", "Content-Type: text/plain", f"Content-Length: {len(body)}"
    )
    raw = server.exchange(twice + body)
    assert raw.status == 400 and "Content-Type" in raw.json()["error"], raw


def check_not_found_and_wrong_method_are_json(server: Server, path: str) -> None:
    """An unknown path is a JSON 404 and a GET of a POST endpoint a JSON 405 with Allow, while the
    docs page, its static files, the OpenAPI document and the probes answer as before."""
    reply = server.get(path)
    assert reply.status == 405 and "POST" in reply.headers["allow"], reply
    assert (
        isinstance(reply.body, dict) and "GET" in reply.body["error"] and "POST" in reply.body["error"]
    ), reply
    reply = server.get("/no/such/page")
    assert (
        isinstance(reply.body, dict) and reply.status == 404 and "/no/such/page" in reply.body["error"]
    ), reply
    assert reply.headers["content-type"] == "application/json"
    page = server.get("/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html"), page.headers
    static = sorted(set(re.findall(r"static_content/[\w.-]+", str(page.body))))
    assert static, "the docs page names no static files"
    for name in static:
        assert server.get("/" + name).status == 200, name
    assert isinstance(server.get("/docs.json").body.get("paths"), dict)
    for probe in ("/metrics", "/livez", "/readyz", "/healthz"):
        assert server.get(probe).status == 200, probe


def check_ambiguous_framing_refused(server: Server, path: str, payload: Any) -> None:
    """A request with both Content-Length and Transfer-Encoding: chunked is a 400 and its
    connection closed (RFC 9112, 6.3): a proxy trusting the length would see another request."""
    body = json.dumps(payload).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    head = _post_head(
        path, "Content-Type: application/json", f"Content-Length: {len(body)}", "Transfer-Encoding: chunked"
    )
    reply = server.exchange(head + chunked)
    assert reply.status == 400 and "Transfer-Encoding" in reply.json()["error"], reply
    assert reply.closed, "the connection was left open"
    assert server.post(path, payload).status == 200


@contextmanager
def running_fleet(pex_dir: Path, root: Path) -> Iterator[Fleet]:
    """A ``Fleet`` with every agent started, stopped again on exit."""
    fleet = Fleet(pex_dir, root)
    try:
        for agent in AGENT_SERVICES:
            fleet.start(agent)
        yield fleet
    finally:
        fleet.stop_all()
