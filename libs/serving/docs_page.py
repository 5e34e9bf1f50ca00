"""The Swagger UI page at ``/``, served without third-party requests.

BentoML's page embeds Google Tag Manager (a script and an iframe from www.googletagmanager.com),
which ``BENTOML_DO_NOT_TRACK`` does not remove: opening the docs of a service would report to
Google. ``LocalDocsPage`` cuts the tag manager's blocks out of the page and sends a
Content-Security-Policy that lets the browser load from the service itself only, so anything a
later BentoML adds to the page from elsewhere is blocked too.
"""

from __future__ import annotations

import re

from libs.serving.guards import ASGIApp, Message, Receive, Scope, Send

DOCS_PAGE_PATH = "/"
# The page's inline scripts and styles are its own; every fetch stays on the service's origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; frame-src 'none'; object-src 'none'"
)
_TAG_MANAGER = re.compile(rb"<!-- Google Tag Manager.*?<!-- End Google Tag Manager[^>]*-->\s*", re.DOTALL)


def without_tag_manager(page: bytes) -> bytes:
    return _TAG_MANAGER.sub(b"", page)


class LocalDocsPage:
    """Rewrites BentoML's docs page; every other request passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != DOCS_PAGE_PATH or scope.get("method") != "GET":
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
        body = without_tag_manager(b"".join(chunks))
        kept = [
            (key, value)
            for key, value in start.get("headers", [])
            if key.lower() not in (b"content-length", b"content-security-policy")
        ]
        headers = [
            *kept,
            (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
