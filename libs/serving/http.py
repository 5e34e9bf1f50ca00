"""How every service here is declared to BentoML: one timeout, one binding, the same guards.

``http_service`` wraps ``bentoml.service`` with the project's request timeout, worker count and
host (from ``libs.settings``) and log format (``libs.logs``), and installs the request guards (body
framing, size and read time, JSON only, JSON error bodies, bounded, ``Retry-After``:
``libs.serving.guards``, ``libs.serving.limits``), a valid OpenAPI document
(``libs.serving.openapi``), a docs page that loads nothing from third parties
(``libs.serving.docs_page``) and the workarounds for BentoML behaviours that let one client's traffic
hurt others (``libs.serving.bentoml_fixes``). Agents and the coordinator use it alike; it needs
BentoML, python-json-logger and the standard library only, so the coordinator ships no model code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import bentoml

from libs.logs.formats import configure_server
from libs.serving import bentoml_fixes, fair_accept
from libs.serving.docs_page import LocalDocsPage
from libs.serving.guards import BoundedErrors, JsonOnly, RetryAfter, UnambiguousFraming
from libs.serving.limits import BodySizeLimit
from libs.serving.openapi import DocumentedErrors
from libs.serving.threads import limit_native_threads, worker_count
from libs.settings import Settings

REQUEST_TIMEOUT_S = 30
# Outermost first: an ambiguously framed, oversized, stalled or non-JSON body is refused before
# anything else reads it.
GUARDS = (
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
    config: dict[str, Any] = {
        "workers": settings.serve_workers,  # one per CPU unless MLOPS_SERVE_WORKERS says otherwise
        "http": {"host": settings.serve_host},  # loopback unless MLOPS_SERVE_HOST says otherwise
        **options,
        "traffic": traffic,
    }

    def declare(cls: type[S]) -> Any:
        service = bentoml.service(name=name, **config)(cls)
        for guard in GUARDS:  # Starlette nests each later middleware inside the earlier ones
            service.add_asgi_middleware(guard)
        return service

    return declare
