"""The request guards and page rewrites as ASGI middleware, driven in-process by a fake app."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from libs.serving.docs_page import LocalDocsPage
from libs.serving.guards import (
    MAX_ERROR_DETAILS,
    BoundedErrors,
    JsonOnly,
    Message,
    RetryAfter,
    UnambiguousFraming,
)
from libs.serving.limits import BodySizeLimit
from libs.serving.openapi import DocumentedErrors

PAGE = b"""<html><head><!-- Google Tag Manager -->
<script>j.src='https://www.googletagmanager.com/gtm.js'</script>
<!-- End Google Tag Manager --></head><body><!-- Google Tag Manager (noscript) -->
<noscript><iframe src="https://www.googletagmanager.com/ns.html"></iframe></noscript>
<!-- End Google Tag Manager (noscript) --><div id="swagger-ui"></div></body></html>"""


def _app(status: int, body: bytes, content_type: bytes = b"application/json") -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    return app


def _call(
    middleware: Any, method: str, path: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[Message] = []
    scope = {"type": "http", "method": method, "path": path, "headers": list(headers)}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    start = sent[0]
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], {key: value for key, value in start["headers"]}, body


def test_a_post_that_is_not_json_is_415_before_the_app_runs() -> None:
    status, _, body = _call(JsonOnly(_app(200, b"[]")), "POST", "/score", ((b"content-type", b"text/plain"),))
    assert status == 415 and b"application/json" in body
    for charset in (b"utf-8", b"UTF8"):
        declared = b"application/json; charset=" + charset
        assert _call(JsonOnly(_app(200, b"[]")), "POST", "/score", ((b"content-type", declared),))[0] == 200


def test_error_bodies_are_cut_to_a_bounded_size() -> None:
    errors = {"error": "x" * 5000, "detail": [{"loc": ["k" * 10_000], "msg": "bad"}] * 1000}
    status, headers, body = _call(BoundedErrors(_app(400, json.dumps(errors).encode())), "POST", "/score")
    answer = json.loads(body)
    assert status == 400 and len(body) < 8_000 and int(headers[b"content-length"]) == len(body)
    assert (
        len(answer["detail"]) == MAX_ERROR_DETAILS and answer["omitted_details"] == 1000 - MAX_ERROR_DETAILS
    )


def test_a_503_says_when_to_retry() -> None:
    _, headers, _ = _call(RetryAfter(_app(503, b"{}")), "POST", "/score")
    assert headers[b"retry-after"] == b"1"


def test_the_docs_page_loses_the_tag_manager_and_gets_a_same_origin_policy() -> None:
    status, headers, body = _call(LocalDocsPage(_app(200, PAGE, b"text/html")), "GET", "/")
    assert status == 200 and b"googletagmanager" not in body and b"swagger-ui" in body
    assert int(headers[b"content-length"]) == len(body)
    assert b"default-src 'self'" in headers[b"content-security-policy"]


def test_the_openapi_document_uses_3_0_bounds_and_lists_error_answers() -> None:
    document = {
        "openapi": "3.0.2",
        "paths": {"/score": {"post": {"responses": {"200": {}}}}},
        "components": {
            "schemas": {"Row": {"properties": {"x": {"type": "number", "exclusiveMinimum": 0.0}}}}
        },
    }
    _, _, body = _call(DocumentedErrors(_app(200, json.dumps(document).encode())), "GET", "/docs.json")
    served = json.loads(body)
    assert served["components"]["schemas"]["Row"]["properties"]["x"] == {
        "type": "number",
        "minimum": 0.0,
        "exclusiveMinimum": True,
    }
    assert {"200", "400", "413", "415", "503"} <= set(served["paths"]["/score"]["post"]["responses"])


def test_a_streamed_body_past_the_limit_is_refused_and_the_connection_closed() -> None:
    read: list[bytes] = []

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        while (message := await receive())["type"] == "http.request":
            read.append(message["body"])
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})

    chunks = [{"type": "http.request", "body": b"x" * 8, "more_body": True}] * 3
    sent: list[Message] = []

    async def receive() -> Message:
        return chunks.pop(0) if chunks else {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/score", "headers": []}
    asyncio.run(BodySizeLimit(reading_app, max_body_bytes=10)(scope, receive, send))
    assert [message["status"] for message in sent if message["type"] == "http.response.start"] == [413]
    assert (b"connection", b"close") in sent[0]["headers"]
    assert len(read) == 1, "the app read on after the limit"


def _plain(status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...] = ()) -> Any:
    """Starlette's answer to an unknown path (404) or a wrong method (405): plain text."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        sent = [(b"content-type", b"text/plain; charset=utf-8"), *headers]
        await send({"type": "http.response.start", "status": status, "headers": sent})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        (((b"content-type", b"application/json; charset=utf-16"),), "utf-16"),
        (((b"content-type", b'application/json; Charset="UTF-16LE"'),), "UTF-16LE"),
        (((b"content-type", b"application/json; charset=latin-1"),), "latin-1"),
        (((b"content-type", b"application/json"), (b"content-encoding", b"gzip")), "gzip"),
        (((b"content-encoding", b"br"),), "br"),
        (((b"content-encoding", b"identity, deflate"),), "deflate"),
    ],
)
def test_json_in_another_charset_or_with_a_content_coding_is_415(
    headers: tuple[tuple[bytes, bytes], ...], named: str
) -> None:
    status, _, body = _call(JsonOnly(_app(200, b"[]")), "POST", "/score", headers)
    assert status == 415 and named in json.loads(body)["error"], body


@pytest.mark.parametrize(
    "headers",
    [
        ((b"content-type", b'application/json; charset="UTF-8"'),),
        ((b"content-type", b"application/json;charset=Utf-8"),),
        ((b"content-type", b"application/json"), (b"content-encoding", b"identity")),
    ],
)
def test_utf_8_json_without_a_content_coding_passes(headers: tuple[tuple[bytes, bytes], ...]) -> None:
    assert _call(JsonOnly(_app(200, b"[]")), "POST", "/score", headers)[0] == 200


def test_two_content_types_are_a_400() -> None:
    headers = ((b"content-type", b"application/json"), (b"content-type", b"text/plain"))
    status, _, body = _call(JsonOnly(_app(200, b"[]")), "POST", "/score", headers)
    assert status == 400 and "Content-Type" in json.loads(body)["error"], body


def test_a_body_framed_by_both_length_and_chunking_is_a_400_and_the_connection_closed() -> None:
    headers = ((b"content-length", b"5"), (b"transfer-encoding", b"chunked"))
    status, sent, body = _call(UnambiguousFraming(_app(200, b"[]")), "POST", "/score", headers)
    assert status == 400 and sent[b"connection"] == b"close", body
    assert "Transfer-Encoding" in json.loads(body)["error"]
    assert _call(UnambiguousFraming(_app(200, b"[]")), "POST", "/score", headers[:1])[0] == 200


def test_plain_text_404_and_405_become_json_that_says_what_is_wrong() -> None:
    status, headers, body = _call(BoundedErrors(_plain(404, b"Not Found")), "GET", "/nowhere")
    assert status == 404 and headers[b"content-type"] == b"application/json"
    assert "/nowhere" in json.loads(body)["error"] and int(headers[b"content-length"]) == len(body)
    allow = ((b"allow", b"POST"),)
    status, headers, body = _call(BoundedErrors(_plain(405, b"Method Not Allowed", allow)), "GET", "/score")
    assert status == 405 and headers[b"allow"] == b"POST" and headers[b"content-type"] == b"application/json"
    assert "GET" in json.loads(body)["error"] and "POST" in json.loads(body)["error"]


def test_a_body_that_stops_arriving_is_a_408_and_the_app_reads_no_further() -> None:
    read: list[Message] = []

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        while (message := await receive())["type"] == "http.request":
            read.append(message)
            if not message.get("more_body"):
                break
        read.append(message)
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    chunks = [{"type": "http.request", "body": b"x" * 50, "more_body": True}]

    async def receive() -> Message:
        if chunks:
            return chunks.pop(0)
        await asyncio.sleep(3600)  # the client stalls
        raise AssertionError("unreachable")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/score", "headers": [(b"content-length", b"1000")]}
    started = time.monotonic()
    asyncio.run(BodySizeLimit(reading_app, body_read_idle_s=0.2)(scope, receive, send))
    assert time.monotonic() - started < 2
    assert [message["status"] for message in sent if message["type"] == "http.response.start"] == [408]
    assert (b"connection", b"close") in sent[0]["headers"] and b"50 bytes" in sent[1]["body"]
    assert read[-1]["type"] == "http.disconnect"


def test_waiting_for_a_disconnect_after_the_whole_body_is_not_timed() -> None:
    """Only the body's read is timed: an app may wait on ``receive`` for a disconnect afterwards."""
    messages = [{"type": "http.request", "body": b"[]", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(0.5)
        return {"type": "http.disconnect"}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        assert (await receive())["type"] == "http.disconnect"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/score", "headers": []}
    asyncio.run(BodySizeLimit(app, body_read_idle_s=0.1)(scope, receive, send))
    assert sent[0]["status"] == 200


def test_a_body_trickled_in_past_the_total_deadline_is_a_408() -> None:
    """A byte just inside the idle limit each time never stalls, yet must not run into the 504."""

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        while (message := await receive())["type"] == "http.request" and message.get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> Message:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"x", "more_body": True}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/score", "headers": [(b"content-length", b"1000")]}
    started = time.monotonic()
    limit = BodySizeLimit(reading_app, body_read_idle_s=0.2, body_read_total_s=0.5)
    asyncio.run(limit(scope, receive, send))
    assert 0.4 < time.monotonic() - started < 2
    assert [message["status"] for message in sent if message["type"] == "http.response.start"] == [408]
    assert b"not complete 0.5 s after the request began" in sent[1]["body"]
