"""Spreads a service's connections over its worker processes.

BentoML's workers all serve one listening socket that its arbiter opened (``--fd`` in
``_bentoml_impl/worker/service.py``), each through uvicorn on asyncio's event loop. Every worker is
woken when a connection arrives, and asyncio's ``_accept_connection`` then accepts every connection
waiting in the queue, so the worker that wakes first takes a whole burst: a client opening 8
keep-alive connections at once had all 8 on one of two workers (53 of 64 at 64), and since
keep-alive connections stay where they were accepted, the service ran on one core
(bentoml/BentoML#5426, open upstream).

``TakingTurns`` wraps a worker's copy of the socket: after accepting one connection the worker stops
watching the socket for ``REST_S``, so the next connection goes to a worker that is not resting.
Connections of a burst alternate between workers, and a worker accepts at most one connection per
``REST_S`` (1,000 a second), far above what a worker answers. uvloop accepts in C and would bypass
this; the services run on asyncio's own loop (uvloop is not installed).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import Any

REST_S = 0.001


class TakingTurns(socket.socket):
    """A listening socket that, having handed out a connection, sits out for ``REST_S``."""

    _resting = False

    def accept(self) -> tuple[socket.socket, Any]:
        if self._resting:
            # asyncio's accept loop stops on this; the connection waits for another worker.
            raise BlockingIOError(errno.EAGAIN, "resting after the previous connection")
        connection = super().accept()
        self._rest(asyncio.get_running_loop())
        return connection

    def _rest(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stops watching the socket for ``REST_S``, keeping the accept callback asyncio registered."""
        self._resting = True
        # asyncio's selector loops expose the callback only through their selector's key.
        selector = getattr(loop, "_selector", None)
        key = selector.get_key(self.fileno()) if selector is not None else None
        reader = key.data[0] if key is not None else None
        if reader is None:  # not a selector loop: rest without unwatching
            loop.call_later(REST_S, self._wake)
            return
        callback, arguments = reader._callback, reader._args
        loop.remove_reader(self.fileno())
        loop.call_later(REST_S, self._wake, loop, callback, arguments)

    def _wake(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        callback: Callable[..., object] | None = None,
        arguments: tuple[Any, ...] = (),
    ) -> None:
        self._resting = False
        if loop is not None and callback is not None and self.fileno() != -1:  # -1: the server closed it
            loop.add_reader(self.fileno(), callback, *arguments)


def taking_turns(listener: socket.socket) -> TakingTurns:
    """The same listening socket (its descriptor moved over), sitting out after each connection."""
    return TakingTurns(listener.family, listener.type, listener.proto, fileno=listener.detach())
