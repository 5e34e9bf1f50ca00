"""Request-body size limit for the services, as ASGI middleware (BentoML's `add_asgi_middleware`).

A batch larger than the API allows is refused by validation, but only after the whole body has
been read and parsed; this refuses an oversized body up front with 413, before it costs memory:
when its declared length is over the limit, or as soon as a streamed (chunked) body passes it.
A declared body is read and dropped only while it keeps coming, up to ``MAX_DRAIN_BYTES``, so a
client that sends its whole body before reading (most do) gets the 413 rather than a broken pipe,
while a declared 10 GB, or a client that stops sending, costs at most that much and a short wait.
The connection is closed after every 413, so the unread rest of a body is never taken for the
next request.
"""

from __future__ import annotations

import asyncio

from libs.serving.guards import ASGIApp, Message, Receive, Scope, Send, header, send_json

DEFAULT_MAX_BODY_BYTES = 2_000_000
MAX_DRAIN_BYTES = 8_000_000
DRAIN_IDLE_S = 0.5


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes and not refused:
                    refused = True
                    await self._refuse(send, received)
                    return {
                        "type": "http.disconnect"
                    }  # the app stops reading (a client error, logged as one)
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, send: Send, size: int) -> None:
        message = f"request body of {size} bytes exceeds the limit of {self.max_body_bytes} bytes"
        await send_json(send, 413, {"error": message}, close=True)


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
