"""Request-body size limit for the services, as ASGI middleware (BentoML's `add_asgi_middleware`).

A batch larger than the API allows is refused by validation, but only after the whole body has
been read and parsed; this refuses an oversized body up front with 413, before it costs memory:
when its declared length is over the limit, or as soon as a streamed (chunked) body passes it.
A declared body is read and dropped only while it keeps coming, up to ``MAX_DRAIN_BYTES``, so a
client that sends its whole body before reading (most do) gets the 413 rather than a broken pipe,
while a declared 10 GB, or a client that stops sending, costs at most that much and a short wait.
The connection is closed after every 413, so the unread rest of a body is never taken for the
next request.

A body that stops arriving is a 408 after ``BODY_READ_IDLE_S`` without a byte of it, and one that
trickles in is a 408 when it is not complete ``BODY_READ_TOTAL_S`` after the request began (a 2 MB
body needs 100 KB/s): a client that declared
1,000 bytes and sent 50 had held the request until BentoML's traffic timeout answered it with a 504,
counted as a server error. Only that request's task waits; the worker serves others meanwhile.
"""

from __future__ import annotations

import asyncio
import contextvars

from libs.serving.guards import ASGIApp, Message, Receive, Scope, Send, header, send_json

DEFAULT_MAX_BODY_BYTES = 2_000_000
MAX_DRAIN_BYTES = 8_000_000
DRAIN_IDLE_S = 0.5
# Well under the traffic timeout (libs.serving.http.REQUEST_TIMEOUT_S), so a stalled body is the
# client's 408, never the server's 504: no byte for BODY_READ_IDLE_S, or the whole body not in
# within BODY_READ_TOTAL_S (a client trickling a byte every few seconds).
BODY_READ_IDLE_S = 10.0
BODY_READ_TOTAL_S = 20.0
# The status a guard here answered a request with, for the log line of the app's ClientDisconnect.
refused_with: contextvars.ContextVar[int | None] = contextvars.ContextVar("refused_with", default=None)


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_read_idle_s: float = BODY_READ_IDLE_S,
        body_read_total_s: float = BODY_READ_TOTAL_S,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_read_idle_s = body_read_idle_s
        self.body_read_total_s = body_read_total_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _drain(receive)
            await self._refuse(send, int(declared))
            return
        received = 0
        refused = started = False
        complete = False  # the whole body is in: a later receive waits for a disconnect, untimed
        deadline = asyncio.get_running_loop().time() + self.body_read_total_s

        async def counting_receive() -> Message:
            nonlocal received, refused, complete
            if refused:
                return {"type": "http.disconnect"}
            if complete:
                return await receive()
            left = deadline - asyncio.get_running_loop().time()
            try:
                async with asyncio.timeout(max(0.0, min(self.body_read_idle_s, left))):
                    message = await receive()
            except TimeoutError:
                refused = not started  # an answer under way is not replaced, only cut short
                if refused:
                    await self._time_out(send, received, whole=left <= self.body_read_idle_s)
                return {"type": "http.disconnect"}  # the app stops reading (a client error, logged as one)
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    refused = True
                    await self._refuse(send, received)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if not refused:
                started = True
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, send: Send, size: int) -> None:
        refused_with.set(413)
        message = f"request body of {size} bytes exceeds the limit of {self.max_body_bytes} bytes"
        await send_json(send, 413, {"error": message}, close=True)

    async def _time_out(self, send: Send, size: int, *, whole: bool) -> None:
        refused_with.set(408)
        waited = (
            f"not complete {self.body_read_total_s:g} s after the request began"
            if whole
            else f"no data for {self.body_read_idle_s:g} s"
        )
        message = f"request body incomplete: {waited}, after {size} bytes; send the whole body as declared"
        await send_json(send, 408, {"error": message}, close=True)


async def _drain(receive: Receive) -> None:
    """Reads and drops a body while it keeps coming, up to MAX_DRAIN_BYTES."""
    drained = 0
    while drained < MAX_DRAIN_BYTES:
        try:
            message = await asyncio.wait_for(receive(), DRAIN_IDLE_S)
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))
