"""ASGI middleware every service runs inside BentoML: bad requests answered early, errors bounded.

- ``UnambiguousFraming``: a request with both ``Content-Length`` and ``Transfer-Encoding`` is a
  400 and the connection is closed (RFC 9112, section 6.3). uvicorn's h11 reads such a body as
  chunked and hands the app both headers; a proxy in front that went by Content-Length would take
  the rest of the chunked body for a second request (request smuggling).
- ``JsonOnly``: a POST whose body is not JSON gets 415 before anything parses it. BentoML picks a
  parser by content type and falls back to JSON for unknown ones; form and multipart bodies went
  to Starlette's form parser, which answered 500 on a boundary-less multipart body or a form of
  deep JSON. Every endpoint here takes JSON, so nothing else is read; nor is JSON in a charset
  other than UTF-8 or under a ``Content-Encoding`` (gzip, br...): BentoML decodes neither, so a
  UTF-16 or gzipped body was a 400 about invalid JSON, and a body declared ``br`` but sent plain
  was accepted.
- ``BoundedErrors``: a 4xx body lists at most ``MAX_ERROR_DETAILS`` validation errors, each field
  of them cut to ``MAX_ERROR_TEXT`` characters, with the total count; a 3 KB body of 1,000 empty
  rows had produced a 1.6 MB answer, and a 1 MB unknown key was echoed in full. A 4xx that is not
  JSON (Starlette's plain-text 404 for an unknown path and 405 for a wrong method) becomes a JSON
  ``{"error": ...}`` saying what is wrong, its other headers (``Allow``) kept.
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
JSON_CHARSET = "utf-8"
JSON_CHARSETS = frozenset({"utf-8", "utf8"})  # "utf8" is a common alias of the same encoding
IDENTITY = "identity"
MAX_ERROR_DETAILS = 20
MAX_ERROR_TEXT = 200
RETRY_AFTER_S = 1


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None


def headers_named(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of header ``name``, in order (a header may be sent more than once)."""
    return [bytes(value) for key, value in scope.get("headers") or () if key.lower() == name]


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


class UnambiguousFraming:
    """400, connection closed, for a request that declares both a Content-Length and a
    Transfer-Encoding: which one frames its body depends on who reads it (RFC 9112, section 6.3)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and header(scope, b"content-length") is not None
            and header(scope, b"transfer-encoding") is not None
        ):
            # Not drained: the body's end is what is in doubt. Closing drops whatever follows.
            message = "request has both Content-Length and Transfer-Encoding: send one of them"
            await send_json(send, 400, {"error": message}, close=True)
            return
        await self.app(scope, receive, send)


def _parameters(declared: bytes) -> dict[str, str]:
    """A Content-Type's parameters (``; charset="UTF-8"``), names lower-cased, quotes removed."""
    parameters = {}
    for part in declared.decode("latin-1").split(";")[1:]:
        name, _, value = part.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"').strip()
    return parameters


def json_refusal(scope: Scope) -> tuple[int, str] | None:
    """The status and message refusing a POST body this service cannot read as JSON, or None.

    Two Content-Type headers are a 400, not a 415: the request is malformed (Content-Type is a
    single-valued field, RFC 9110 section 5.3), so which media type it declares is unknown, rather
    than known and unsupported. No Content-Type is read as JSON."""
    declared_types = headers_named(scope, b"content-type")
    if len(declared_types) > 1:
        return 400, "request has more than one Content-Type header: send one, application/json"
    declared = declared_types[0] if declared_types else b"application/json"
    media_type = declared.split(b";")[0].strip().lower().decode("latin-1")
    if media_type not in JSON_TYPES:
        return 415, f"unsupported content type {media_type[:100]!r}: send application/json"
    charset = _parameters(declared).get("charset", JSON_CHARSET)
    if charset.lower() not in JSON_CHARSETS:
        return 415, f"unsupported charset {charset[:100]!r}: send application/json in utf-8"
    codings = [
        coding.strip().lower().decode("latin-1")
        for value in headers_named(scope, b"content-encoding")
        for coding in value.split(b",")
        if coding.strip()
    ]
    encoded = [coding for coding in codings if coding != IDENTITY]
    if encoded:
        return 415, f"unsupported content encoding {encoded[0][:100]!r}: send the body uncompressed"
    return None


class JsonOnly:
    """415 for a POST whose body is not declared JSON in UTF-8 without a content coding; 400 for a
    POST with two Content-Type headers (``json_refusal`` says why)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            refusal = json_refusal(scope)
            if refusal is not None:
                await _drain(receive)
                status, message = refusal
                await send_json(send, status, {"error": message})
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
                    await self._send_bounded(send, scope, start, b"".join(chunks))
            else:
                await send(message)

        await self.app(scope, receive, bounding_send)

    @staticmethod
    async def _send_bounded(send: Send, scope: Scope, start: Message, body: bytes) -> None:
        replaced = (b"content-length", b"content-type")
        headers = [(key, value) for key, value in start.get("headers", []) if key.lower() not in replaced]
        try:
            payload = json.dumps(bounded_error(json.loads(body))).encode()
        except ValueError:
            payload = json.dumps({"error": _error_text(scope, start, body)}).encode()
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _error_text(scope: Scope, start: Message, body: bytes) -> str:
    """What a 4xx that is not JSON (Starlette's plain-text 404 and 405) says, in a sentence."""
    method = str(scope.get("method", ""))[:16]
    path = str(scope.get("path", ""))[:MAX_ERROR_TEXT]
    if start["status"] == 404:
        return f"not found: nothing is served at {path!r}; the endpoints are listed at /docs.json"
    if start["status"] == 405:
        allow = next((value for key, value in start.get("headers", []) if key.lower() == b"allow"), b"")
        allowed = bytes(allow).decode("latin-1")[:MAX_ERROR_TEXT] or "another method"
        return f"method {method} is not allowed on {path!r}: use {allowed}"
    text = body.decode(errors="replace")[:MAX_ERROR_TEXT] or "no detail"
    return f"{start['status']} {text}"


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
