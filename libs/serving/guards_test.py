"""The request guards and page rewrites as ASGI middleware, driven in-process by a fake app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from libs.serving.docs_page import LocalDocsPage
from libs.serving.guards import MAX_ERROR_DETAILS, BoundedErrors, JsonOnly, Message, RetryAfter
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
    assert (
        _call(
            JsonOnly(_app(200, b"[]")),
            "POST",
            "/score",
            ((b"content-type", b"application/json; charset=utf-8"),),
        )[0]
        == 200
    )


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
