"""Workarounds for BentoML 1.4 behaviours that let one client's traffic hurt others, applied once per
process by ``apply()`` (``libs.serving.http.http_service`` calls it).

Each names the BentoML code it works around; each has a test in ``tests/robustness/traffic_test.py``
against the packaged services, the batcher's also in ``libs/serving/bentoml_fixes_test.py``:

- **Metrics labels from raw paths.** ``RunnerTrafficMetricsMiddleware``
  (``bentoml/_internal/server/http/instruments.py``) labels every series with ``scope["path"]``, so
  each distinct unknown URL adds about 20 series that are never removed: /metrics, worker memory
  and the multiprocess files grow without bound. Paths outside the service's routes are counted
  under one label, ``UNMATCHED_PATH``.
- **A learned batching wait that feeds on itself.** The adaptive batcher's ``Optimizer``
  (``bentoml/_internal/marshal/dispatcher.py``) holds a request as long as the average queueing
  time it measured; after a burst that average is the burst's backlog, so lone requests then wait
  up to seconds for company. The wait is capped at ``MAX_BATCH_WAIT_S``.
- **One request's rows failing everyone's batch.** ``CorkDispatcher.outbound_call`` gives every
  request of a merged batch the batch's exception. A failed batch is retried request by request,
  so only the request whose rows fail gets the error.
- **Tracebacks for client errors.** ``api_endpoint_wrapper`` (``_bentoml_impl/server/app.py``)
  logs every 400 at ERROR with its traceback through ``log_exception``: a 4-byte bad body wrote
  2.8 KB of log. Client errors (the endpoint's input failing validation, 4xx BentoML errors, a
  client that hung up or was cut off mid-body) become one bounded INFO line; server errors keep
  their traceback.
- **Unknown top-level fields accepted.** The input model BentoML builds from an endpoint's
  signature (``IODescriptor.from_input`` in ``_bentoml_sdk/io_models.py``) ignores fields it does
  not know, so a misspelt optional field silently takes its default. Endpoint input models
  forbid them, and the 400 names the field.
- **An error before the answer held for the whole timeout.** ``TimeoutMiddleware``
  (``bentoml/_internal/server/http/traffic.py``) waits for the first message the app sends or for
  the timeout, not for the app to end: a route that raised before answering (/readyz when a
  dependency refused the connection) hung for the service's whole timeout, then ended with no
  answer (uvicorn's 500, "ASGI callable returned without starting response"). The wait also ends
  with the app, so its error reaches Starlette's handler at once: a 500 and a logged traceback.
- **One worker taking every connection.** Workers share the arbiter's listening socket, and asyncio
  accepts every waiting connection per wake-up, so one worker took all 8 of a client's keep-alive
  connections while the other idled. Workers take turns (``libs.serving.fair_accept``).
- **JSON answers built twice over.** ``IORootModel.model_dump_json`` (``_bentoml_sdk/io_models.py``),
  how a list-returning endpoint's answer is written, dumps the answer to Python objects and encodes
  those with ``json.dumps``: 49 us for agent2's 28 forecasts, 6% of a worker's time under load
  (bench/serving). Pydantic's own serializer writes the same values in 13 us, without the blanks
  between tokens, non-ASCII text as UTF-8 rather than escapes, and a NaN or infinite float
  as ``null`` where ``json.dumps`` wrote ``NaN``, which no JSON parser must accept.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from bentoml._internal.marshal import dispatcher
from bentoml._internal.server.http import instruments, traffic
from bentoml.exceptions import BentoMLException
from pydantic import ValidationError
from starlette.requests import ClientDisconnect  # pants: no-infer-dep  (bentoml's own web framework)
from starlette.responses import JSONResponse  # pants: no-infer-dep  (bentoml's own web framework)
from uvicorn.server import Server  # pants: no-infer-dep  (bentoml's own web server)

from libs.serving.fair_accept import shared_listener
from libs.serving.limits import refused_with

UNMATCHED_PATH = "/{unmatched}"
# System routes every BentoML service serves besides its API routes.
SYSTEM_PATHS = frozenset({"/", "/docs.json", "/schema.json", "/metrics", "/healthz", "/livez", "/readyz"})
# Swagger UI's files, counted under one label.
STATIC_PREFIX = "/static_content/"
MAX_BATCH_WAIT_S = 0.005
MAX_LOGGED_PATH = 200
_ORIGINAL_PATH = "mlops.original_path"

_applied = False


def apply() -> None:
    """Installs every workaround; idempotent, and a no-op after the first call."""
    global _applied
    if _applied:
        return
    _applied = True
    # BentoML imports the class from this module each time it builds the app, so it finds ours.
    metrics = _bounded_path_metrics(instruments.RunnerTrafficMetricsMiddleware)
    setattr(instruments, "RunnerTrafficMetricsMiddleware", metrics)  # noqa: B010  replaced on purpose
    _cap_learned_wait(dispatcher.Optimizer)
    _retry_failed_batches_per_request(dispatcher.CorkDispatcher)
    logging.getLogger("bentoml._internal.server.http_app").addFilter(_client_errors_without_traceback)
    _forbid_unknown_input_fields()
    _fair_accept_on_shared_sockets(Server)
    _end_the_timeout_wait_with_the_app(traffic.TimeoutMiddleware)
    _serialize_root_answers_natively()


def metrics_label(path: str, api_routes: Sequence[str]) -> str:
    """The ``endpoint`` label for a request path: the path itself when the service serves it."""
    if path in SYSTEM_PATHS or path in api_routes:
        return path
    if path.startswith(STATIC_PREFIX):
        return STATIC_PREFIX
    return UNMATCHED_PATH


def _bounded_path_metrics(base: Any) -> Any:
    from bentoml._internal.context import server_context

    class BoundedPathMetrics(base):
        """BentoML's traffic metrics with the ``endpoint`` label drawn from the service's routes."""

        def __init__(self, app: Callable[..., Awaitable[None]], **options: Any) -> None:
            async def with_original_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
                original = scope.get(_ORIGINAL_PATH)
                await app({**scope, "path": original} if original is not None else scope, receive, send)

            super().__init__(with_original_path, **options)

        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                label = metrics_label(scope["path"], server_context.service_routes or ())
                if label != scope["path"]:
                    scope = {**scope, "path": label, _ORIGINAL_PATH: scope["path"]}
            await super().__call__(scope, receive, send)

    return BoundedPathMetrics


def _cap_learned_wait(optimizer: Any) -> None:
    refresh = optimizer.trigger_refresh

    @functools.wraps(refresh)
    def capped(self: Any) -> None:
        refresh(self)
        self.wait = min(self.wait, MAX_BATCH_WAIT_S)

    setattr(optimizer, "trigger_refresh", capped)  # noqa: B010


def _retry_failed_batches_per_request(cork: Any) -> None:
    wrap = cork.__call__

    @functools.wraps(wrap)
    def wrapped(self: Any, callback: Callable[..., Any]) -> Any:
        endpoint = wrap(self, callback)
        batch_call = self.callback

        async def per_request_on_failure(requests: Sequence[Any]) -> Sequence[Any]:
            try:
                return await batch_call(requests)
            except Exception:
                if len(requests) < 2:
                    raise
            outputs: list[Any] = []
            for request in requests:
                try:
                    outputs.extend(await batch_call((request,)))
                except Exception as error:  # this request's own failure, given to it alone
                    outputs.append(error)
            return outputs

        self.callback = per_request_on_failure
        return endpoint

    setattr(cork, "__call__", wrapped)  # noqa: B010


def is_client_error(error: BaseException | None) -> bool:
    """The request's fault: its input failed validation (BentoML names every endpoint's input model
    ``Input``; any other model failing is the server's bug), a 4xx BentoML raised, or the client
    disconnected (also what ``BodySizeLimit`` makes of a body cut off past the limit or stalled)."""
    if isinstance(error, ValidationError):
        return str(error.title).endswith("Input")
    if isinstance(error, ClientDisconnect):
        return True
    return isinstance(error, BentoMLException) and 400 <= int(error.error_code) < 500


def _client_errors_without_traceback(record: logging.LogRecord) -> bool:
    """A 4xx is the client's mistake, not the server's: one INFO line, no traceback, bounded size."""
    error = record.exc_info[1] if record.exc_info else None
    if not is_client_error(error):
        return True
    status: int | None
    if isinstance(error, BentoMLException):
        status = error.error_code
    elif isinstance(error, ClientDisconnect):
        status = refused_with.get()  # what BodySizeLimit answered; None: the client hung up itself
    else:
        status = HTTPStatus.BAD_REQUEST
    path, method = (record.args or ("?", "?"))[:2] if isinstance(record.args, tuple) else ("?", "?")
    outcome = "client disconnected before the answer" if status is None else str(int(status))
    record.msg = "%s %s: %s %s"
    record.args = (str(method)[:16], str(path)[:MAX_LOGGED_PATH], outcome, type(error).__name__)
    record.exc_info, record.exc_text = None, None
    record.levelno, record.levelname = logging.INFO, "INFO"
    return True


def _forbid_unknown_input_fields() -> None:
    from _bentoml_sdk.io_models import IODescriptor  # pants: no-infer-dep  (inside bentoml)

    IODescriptor.model_config["extra"] = "forbid"


def _serialize_root_answers_natively() -> None:
    """An endpoint's answer in JSON from its model's own serializer; BentoML's way with any options
    (its JSON serde passes only an empty ``exclude``)."""
    from _bentoml_sdk.io_models import IORootModel  # pants: no-infer-dep  (inside bentoml)

    original = IORootModel.model_dump_json
    wrapper, end = b'{"root":', b"}"  # what the model's serializer writes around its one field

    @functools.wraps(original)
    def model_dump_json(self: Any, **options: Any) -> str:
        if any(options.values()):
            return str(original(self, **options))
        text: bytes = type(self).__pydantic_serializer__.to_json(self)
        if not (text.startswith(wrapper) and text.endswith(end)):
            return str(original(self, **options))
        return text[len(wrapper) : -len(end)].decode()

    setattr(IORootModel, "model_dump_json", model_dump_json)  # noqa: B010


def _fair_accept_on_shared_sockets(server: Any) -> None:
    """Each worker's copy of the shared listening socket sits out briefly after each connection."""
    original = server.startup

    @functools.wraps(original)
    async def startup(self: Any, sockets: list[Any] | None = None) -> None:
        shared = None if sockets is None else [shared_listener(listener) for listener in sockets]
        await original(self, sockets=shared)

    server.startup = startup


def _end_the_timeout_wait_with_the_app(middleware: Any) -> None:
    """BentoML's timeout (a 504 when the app has not started answering in time), also ended by
    the app itself: its exception, raised before any answer, propagates at once.

    The app runs in the request's own task under ``asyncio.timeout``, whose deadline the app's first
    message lifts. BentoML's version (and this one's first) ran the app in a task of its own and
    waited for it in another: two more tasks and their wake-ups on every request."""
    original = middleware.__call__

    @functools.wraps(original)
    async def call(self: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        answered = False
        deadline = asyncio.timeout(self.timeout)

        async def answer(message: Any) -> None:
            nonlocal answered
            if not answered:
                answered = True
                if not deadline.expired():  # an app answering after its cancellation keeps the 504 out
                    deadline.reschedule(None)  # the answer has started: the rest takes what it takes
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, answer)
        except TimeoutError:
            if answered or not deadline.expired():  # the app's own TimeoutError, not the deadline's
                raise
        if not answered and deadline.expired():  # cancelled unanswered (or it swallowed the cancel)
            timed_out = {"error": f"Not able to process the request in {self.timeout} seconds"}
            await JSONResponse(timed_out, status_code=504)(scope, receive, send)

    setattr(middleware, "__call__", call)  # noqa: B010
