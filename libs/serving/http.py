"""How every service here is declared to BentoML: one timeout, one binding, the same guards.

``http_service`` wraps ``bentoml.service`` with the project's request timeout, worker count and
host (from ``libs.settings``) and log format (``libs.logs``), and installs the request guards (body
framing, size and read time, JSON only, JSON error bodies, bounded, ``Retry-After``:
``libs.serving.guards``, ``libs.serving.limits``), a valid OpenAPI document
(``libs.serving.openapi``), a docs page that loads nothing from third parties
(``libs.serving.docs_page``) and the workarounds for BentoML behaviours that let one client's traffic
hurt others (``libs.serving.bentoml_fixes``). Agents and the coordinator use it alike; it needs
BentoML, python-json-logger and the standard library only, so the coordinator ships no model code.

Tracing: BentoML wraps every service in OpenTelemetry's ASGI middleware, which starts a span for each
request and for each message the request receives or sends, whether or not anything exports them
(BentoML's default sample rate is 0 and no exporter is set: every span is dropped). That cost
agent2 0.4 ms of a worker's CPU per request, a fifth of all it spent under load (bench/serving). A
service declared without a tracing exporter therefore excludes every URL from tracing (BentoML's
``tracing.excluded_urls``), which leaves the middleware a pass-through, and ``RequestIds`` gives each
request the id the tracing span would have (the ``X-BentoML-Request-ID`` header, ``request_id`` in
JSON logs). To trace, declare the service with ``tracing={"exporter_type": ...}``; a BentoML config
file that sets an exporter must also set ``tracing.excluded_urls`` (to ``[]`` or the URLs to skip).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, TypeVar

import bentoml
from bentoml._internal.context import trace_context

from libs.logs.formats import configure_server
from libs.serving import bentoml_fixes, fair_accept
from libs.serving.docs_page import LocalDocsPage
from libs.serving.guards import (
    ASGIApp,
    BoundedErrors,
    JsonOnly,
    Receive,
    RetryAfter,
    Scope,
    Send,
    UnambiguousFraming,
)
from libs.serving.limits import BodySizeLimit
from libs.serving.openapi import DocumentedErrors
from libs.serving.threads import limit_native_threads, worker_count
from libs.settings import Settings

REQUEST_TIMEOUT_S = 30
# BentoML's tracing options for a service declared without an exporter: nothing traced (see above).
UNTRACED = {"excluded_urls": [".*"]}


class RequestIds:
    """Gives a request without one the 64-bit id BentoML takes from its tracing span (the span id):
    BentoML answers it as ``X-BentoML-Request-ID`` and adds it to log records."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and trace_context.request_id is None:
            trace_context.request_id = random.getrandbits(64) or 1  # 0 is OpenTelemetry's "no span"
        await self.app(scope, receive, send)


# Outermost first: an ambiguously framed, oversized, stalled or non-JSON body is refused before
# anything else reads it.
GUARDS = (
    RequestIds,
    UnambiguousFraming,
    BodySizeLimit,
    JsonOnly,
    RetryAfter,
    BoundedErrors,
    DocumentedErrors,
    LocalDocsPage,
)

S = TypeVar("S")


def http_service(
    name: str, *, timeout_s: int = REQUEST_TIMEOUT_S, **options: Any
) -> Callable[[type[S]], Any]:
    """``bentoml.service`` with the project's timeout, workers, binding, guards and fixes;
    ``options`` (BentoML's service options) override the defaults."""
    bentoml_fixes.apply()
    configure_server()  # JSON lines when MLOPS_LOG_FORMAT=json (the images' default)
    settings = Settings()
    workers = worker_count(options.get("workers", settings.serve_workers))
    limit_native_threads(workers)  # before BentoML's arbiter starts the workers
    fair_accept.expect_workers(workers)
    traffic = {"timeout": timeout_s, **options.pop("traffic", {})}  # more traffic options keep the timeout
    tracing = options.pop("tracing", {})
    if not tracing.get("exporter_type"):
        tracing = {**UNTRACED, **tracing}
    config: dict[str, Any] = {
        "workers": settings.serve_workers,  # one per CPU unless MLOPS_SERVE_WORKERS says otherwise
        "http": {"host": settings.serve_host},  # loopback unless MLOPS_SERVE_HOST says otherwise
        **options,
        "traffic": traffic,
        "tracing": tracing,
    }

    def declare(cls: type[S]) -> Any:
        service = bentoml.service(name=name, **config)(cls)
        for guard in GUARDS:  # Starlette nests each later middleware inside the earlier ones
            service.add_asgi_middleware(guard)
        return service

    return declare
