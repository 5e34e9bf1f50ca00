"""Spreads a service's connections over its worker processes.

BentoML's workers all serve one listening socket that its arbiter opened (``--fd`` in
``_bentoml_impl/worker/service.py``), each through uvicorn on asyncio's event loop. Every worker is
woken when a connection arrives, and asyncio's ``_accept_connection`` then accepts every connection
waiting in the queue, so the worker that wakes first takes a whole burst: a client opening 8
keep-alive connections at once had all 8 on one of two workers (53 of 64 at 64), and since
keep-alive connections stay where they were accepted, the service ran on one core
(bentoml/BentoML#5426, open upstream).

``TakingTurns`` wraps a worker's copy of the socket when there are several workers: after accepting
one connection the worker stops watching the socket for ``REST_S``, so the next connection goes to
a worker that is not resting, and the connections of a burst alternate between workers. Resting
caps a worker at roughly 650 accepts a second, so while more than ``GREEDY_QUEUE`` connections wait
(a flood, or a client opening hundreds at once) a worker accepts as asyncio would, one after
another; the kernel's accept-queue length comes from ``TCP_INFO``. uvloop accepts in C and would
bypass this; the services run on asyncio's own loop (uvloop is not installed).
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections.abc import Callable
from typing import Any

REST_S = 0.001
# Above this many waiting connections, accept without resting: spreading them is worth less than
# taking them quickly.
GREEDY_QUEUE = 128
# ``struct tcp_info`` (linux/tcp.h): eight one-byte fields, then u32 rto, ato, snd_mss, rcv_mss and
# ``tcpi_unacked``, which for a listening socket is the number of connections waiting to be accepted.
_TCP_INFO_BYTES = 104
_WAITING_OFFSET = 24

_workers = 1  # set by the service's declaration, before the worker's server starts


def expect_workers(count: int) -> None:
    """Records how many workers share the socket: with one, there is nobody to take turns with."""
    global _workers
    _workers = count


def shared_listener(listener: socket.socket) -> socket.socket:
    """``listener`` taking turns when several workers share it, else unchanged."""
    return taking_turns(listener) if _workers > 1 else listener


class TakingTurns(socket.socket):
    """A listening socket that, having handed out a connection, sits out for ``REST_S``."""

    _resting = False

    def accept(self) -> tuple[socket.socket, Any]:
        if self._resting:
            # asyncio's accept loop stops on this; the connection waits for another worker.
            raise BlockingIOError(errno.EAGAIN, "resting after the previous connection")
        connection = super().accept()
        if self.waiting() <= GREEDY_QUEUE:
            self._rest()
        return connection

    def waiting(self) -> int:
        """Connections in the kernel's accept queue (Linux); 0 where the kernel does not say."""
        try:
            info = self.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_BYTES)
        except (OSError, AttributeError):  # not TCP, or not Linux
            return 0
        return int(struct.unpack_from("=I", info, _WAITING_OFFSET)[0]) if len(info) >= 28 else 0

    def _rest(self) -> None:
        """Stops watching the socket for ``REST_S``, keeping the accept callback asyncio registered.

        Where that cannot be done (no running selector loop watching the socket) the socket does
        not rest: a resting socket nobody would wake must never happen."""
        try:
            loop = asyncio.get_running_loop()
            # asyncio's selector loops expose the callback only through their selector's key.
            reader = loop._selector.get_key(self.fileno()).data[0]  # type: ignore[attr-defined]
        except (RuntimeError, AttributeError, KeyError, ValueError):
            return
        if reader is None:
            return
        callback, arguments = reader._callback, reader._args
        loop.remove_reader(self.fileno())
        self._resting = True
        loop.call_later(REST_S, self._wake, loop, callback, arguments)

    def _wake(
        self, loop: asyncio.AbstractEventLoop, callback: Callable[..., object], arguments: tuple[Any, ...]
    ) -> None:
        self._resting = False
        if self.fileno() != -1:  # -1: the server closed it meanwhile
            loop.add_reader(self.fileno(), callback, *arguments)


def taking_turns(listener: socket.socket) -> TakingTurns:
    """The same listening socket (its descriptor moved over), sitting out after each connection."""
    return TakingTurns(listener.family, listener.type, listener.proto, fileno=listener.detach())
