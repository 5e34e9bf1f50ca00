"""Workers sharing a listening socket take turns; a closed server is not watched again."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from libs.serving import fair_accept
from libs.serving.fair_accept import GREEDY_QUEUE, REST_S, TakingTurns, taking_turns

BURST = 8


class Counting(asyncio.Protocol):
    """Counts accepted connections and keeps them open, as keep-alive clients' connections stay."""

    accepted: list[float] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Counting.accepted.append(time.monotonic())


def _listener(backlog: int = 128) -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    return listener


def _serve_and_count(listener: socket.socket, report: Connection, seconds: float) -> None:
    """A worker process: serves its copy of the shared socket, then reports how many it accepted."""
    Counting.accepted = []

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(Counting, sock=taking_turns(listener))
        report.send("serving")
        await asyncio.sleep(seconds)
        server.close()

    asyncio.run(run())
    report.send(len(Counting.accepted))


@contextmanager
def _workers(listener: socket.socket, count: int, seconds: float) -> Iterator[list[Connection]]:
    context = multiprocessing.get_context("fork")  # workers inherit the listening socket, as BentoML's do
    pipes = [context.Pipe(duplex=False) for _ in range(count)]
    processes = [
        context.Process(target=_serve_and_count, args=(listener, sender, seconds)) for _, sender in pipes
    ]
    for process in processes:
        process.start()
    try:
        receivers = [receiver for receiver, _ in pipes]
        assert [receiver.recv() for receiver in receivers] == ["serving"] * count
        yield receivers
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()


def test_a_burst_of_connections_is_shared_between_two_workers() -> None:
    listener = _listener()
    address = listener.getsockname()
    with _workers(listener, 2, seconds=2.0) as reports:
        clients = [socket.create_connection(address) for _ in range(BURST)]
        counts = [report.recv() for report in reports]
    for client in clients:
        client.close()
    listener.close()
    # Without taking turns the first worker to wake accepted all 8 (see the module's docstring).
    assert sum(counts) == BURST
    assert min(counts) >= 2, f"connections per worker: {counts}"


class Timed(TakingTurns):
    """Records when each connection was accepted and how often the socket rested."""

    accepted_at: list[float]
    rests = 0

    def accept(self) -> tuple[socket.socket, object]:
        connection = super().accept()
        self.accepted_at.append(time.monotonic())
        return connection

    def _rest(self) -> None:
        self.rests += 1
        super()._rest()


def _timed(listener: socket.socket) -> Timed:
    timed = Timed(listener.family, listener.type, listener.proto, fileno=listener.detach())
    timed.accepted_at = []
    return timed


def _accept_all(clients: int) -> Timed:
    """One event loop serving a ``Timed`` socket on which ``clients`` connections already wait."""
    listener = _listener(backlog=clients + 16)
    # The kernel completes the handshakes: the connections wait in the accept queue together.
    connections = [socket.create_connection(listener.getsockname()) for _ in range(clients)]
    timed = _timed(listener)

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(Counting, sock=timed, backlog=clients + 16)
        deadline = time.monotonic() + 30
        while len(timed.accepted_at) < clients and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        server.close()

    asyncio.run(run())
    for connection in connections:
        connection.close()
    return timed


def test_a_lone_worker_accepts_a_small_burst_one_rest_apart() -> None:
    timed = _accept_all(3)
    assert len(timed.accepted_at) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(timed.accepted_at)]
    assert min(gaps) >= REST_S * 0.9, gaps  # timers may fire a little early, never much


def test_a_flood_is_accepted_without_resting_while_the_queue_is_long() -> None:
    """Resting caps a worker near 650 accepts a second; past GREEDY_QUEUE waiting it takes them."""
    clients = GREEDY_QUEUE + 200
    timed = _accept_all(clients)
    assert len(timed.accepted_at) == clients
    assert timed.rests <= GREEDY_QUEUE + 1, f"rested {timed.rests} times for {clients} connections"


def test_an_accept_outside_a_running_loop_does_not_leave_it_resting() -> None:
    listener = _listener()
    address = listener.getsockname()
    wrapped = taking_turns(listener)
    clients = [socket.create_connection(address) for _ in range(2)]
    for _ in clients:
        connection, _ = wrapped.accept()
        connection.close()
    assert not wrapped._resting
    for client in clients:
        client.close()
    wrapped.close()


def test_a_lone_worker_keeps_the_plain_socket() -> None:
    listener = _listener()
    try:
        fair_accept.expect_workers(1)
        assert fair_accept.shared_listener(listener) is listener
        fair_accept.expect_workers(2)
        assert isinstance(fair_accept.shared_listener(listener), TakingTurns)
    finally:
        fair_accept.expect_workers(1)


def test_a_server_closed_while_resting_is_not_watched_again() -> None:
    Counting.accepted = []
    errors: list[dict[str, object]] = []

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: errors.append(context))
        listener = _listener()
        wrapped = taking_turns(listener)
        server = await loop.create_server(Counting, sock=wrapped)
        client = socket.create_connection(wrapped.getsockname())
        while not Counting.accepted:
            await asyncio.sleep(0)
        server.close()  # during the rest that followed the accept
        await asyncio.sleep(REST_S * 20)
        client.close()
        assert wrapped.fileno() == -1

    asyncio.run(run())
    assert errors == []


def test_wrapping_moves_the_descriptor() -> None:
    listener = _listener()
    descriptor = listener.fileno()
    wrapped = taking_turns(listener)
    assert isinstance(wrapped, TakingTurns)
    assert (wrapped.fileno(), listener.fileno()) == (descriptor, -1)
    wrapped.close()
