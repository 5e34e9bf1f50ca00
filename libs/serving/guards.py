"""ASGI middleware every service runs inside BentoML: bad requests answered early, errors bounded.

- ``JsonOnly``: a POST whose body is not JSON gets 415 before anything parses it. BentoML picks a
  parser by content type and falls back to JSON for unknown ones; form and multipart bodies went
  to Starlette's form parser, which answered 500 on a boundary-less multipart body or a form of
  deep JSON. Every endpoint here takes JSON, so nothing else is read.
- ``BoundedErrors``: a 4xx body lists at most ``MAX_ERROR_DETAILS`` validation errors, each field
  of them cut to ``MAX_ERROR_TEXT`` characters, with the total count; a 3 KB body of 1,000 empty
  rows had produced a 1.6 MB answer, and a 1 MB unknown key was echoed in full.
- ``RetryAfter``: a 429 or 503 (the service shedding load, or not ready) says when to retry.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_TYPES = ("application/json",)
MAX_ERROR_DETAILS = 20
MAX_ERROR_TEXT = 200
RETRY_AFTER_S = 1


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None


async def send_json(send: Send, status: int, body: Any, *, close: bool = False) -> None:
    """A JSON answer; ``close`` ends the connection after it (a body left unread must not be parsed
    as the next request)."""
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, *([(b"connection", b"close")] if close else [])],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class JsonOnly:
    """415 for a POST whose declared content type is not JSON (no content type is read as JSON)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            declared = header(scope, b"content-type")
            media_type = (declared or b"application/json").split(b";")[0].strip().lower().decode("latin-1")
            if media_type not in JSON_TYPES:
                await _drain(receive)
                await send_json(
                    send,
                    415,
                    {"error": f"unsupported content type {media_type[:100]!r}: send application/json"},
                )
                return
        await self.app(scope, receive, send)


async def _drain(receive: Receive) -> None:
    """Reads and drops the body chunk by chunk, so the client sees the answer, not a broken pipe."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_ERROR_TEXT else value[:MAX_ERROR_TEXT] + "..."
    if isinstance(value, list):
        return [_cut(item) for item in value[:MAX_ERROR_DETAILS]]
    if isinstance(value, dict):
        return {_cut(key): _cut(item) for key, item in list(value.items())[:MAX_ERROR_DETAILS]}
    return value


def bounded_error(body: Any) -> Any:
    """The error body with at most MAX_ERROR_DETAILS details, each string at most MAX_ERROR_TEXT long.

    BentoML sends a 4xx it raised (``InvalidArgument``) as a one-element list; it becomes the object."""
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("detail"), list):
        details = body["detail"]
        bounded = {**_cut({key: value for key, value in body.items() if key != "detail"})}
        bounded["detail"] = [_cut(item) for item in details[:MAX_ERROR_DETAILS]]
        if len(details) > MAX_ERROR_DETAILS:
            bounded["omitted_details"] = len(details) - MAX_ERROR_DETAILS
        return bounded
    return _cut(body)


class BoundedErrors:
    """Rewrites JSON 4xx bodies to ``bounded_error``; every other response passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def bounding_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if 400 <= message["status"] < 500 and message["status"] != 413:
                    start = message
                    return
                await send(message)
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._send_bounded(send, start, b"".join(chunks))
            else:
                await send(message)

        await self.app(scope, receive, bounding_send)

    @staticmethod
    async def _send_bounded(send: Send, start: Message, body: bytes) -> None:
        headers = [
            (key, value) for key, value in start.get("headers", []) if key.lower() != b"content-length"
        ]
        try:
            payload = json.dumps(bounded_error(json.loads(body))).encode()
        except ValueError:
            payload = body[: MAX_ERROR_TEXT * MAX_ERROR_DETAILS]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class RetryAfter:
    """Adds ``Retry-After`` to a 429 or 503 that has none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_retry_after(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (429, 503):
                headers = list(message.get("headers", []))
                if not any(key.lower() == b"retry-after" for key, _ in headers):
                    headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_retry_after if scope["type"] == "http" else send)


class RewrittenPage:
    """Base of middleware that rewrites the whole body of one GET page (a document BentoML serves);
    every other request passes through untouched. Subclasses set ``path`` and ``rewrite``."""

    path = ""
    extra_headers: tuple[tuple[bytes, bytes], ...] = ()

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def rewrite(self, body: bytes) -> bytes:
        return body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, collect)
        body = b"".join(chunks)
        if start.get("status") == 200:
            body = self.rewrite(body)
        replaced = {b"content-length", *(name for name, _ in self.extra_headers)}
        headers = [(key, value) for key, value in start.get("headers", []) if key.lower() not in replaced]
        headers += [(b"content-length", str(len(body)).encode()), *self.extra_headers]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
