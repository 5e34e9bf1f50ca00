"""BentoML's own adaptive batcher and metrics middleware, with the workarounds applied."""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping, Sequence
from typing import Any, NoReturn

import pytest
from bentoml._internal.marshal.dispatcher import CorkDispatcher, Optimizer
from bentoml._internal.server.http.traffic import TimeoutMiddleware

from libs.serving import bentoml_fixes
from libs.serving.bentoml_fixes import MAX_BATCH_WAIT_S, UNMATCHED_PATH, metrics_label

bentoml_fixes.apply()


class Poisoned(ValueError):
    pass


def _overloaded() -> NoReturn:
    raise RuntimeError("shed")


async def _run_batch(requests: list[str]) -> list[object]:
    calls: list[Sequence[str]] = []

    async def predict(batch: Sequence[str]) -> list[str]:
        calls.append(tuple(batch))
        if "bad" in batch:
            raise Poisoned("one request's rows cannot be predicted")
        return [f"answer to {item}" for item in batch]

    dispatcher: CorkDispatcher[str, str] = CorkDispatcher(
        max_latency_in_ms=10_000, max_batch_size=100, fallback=_overloaded, get_batch_size=lambda _: 1
    )
    endpoint = dispatcher(predict)
    results = await asyncio.gather(*(endpoint(item) for item in requests), return_exceptions=True)
    dispatcher.shutdown()
    assert any(len(call) > 1 for call in calls), f"never batched, so nothing was tested: {calls}"
    return list(results)


def test_a_failing_batch_is_retried_per_request_and_only_the_bad_one_fails() -> None:
    requests = [f"r{index}" for index in range(30)]
    requests[11] = "bad"
    results = asyncio.run(_run_batch(requests))
    assert isinstance(results[11], Poisoned)
    assert [result for index, result in enumerate(results) if index != 11] == [
        f"answer to {item}" for index, item in enumerate(requests) if index != 11
    ]


def test_the_learned_batching_wait_is_capped() -> None:
    optimizer = Optimizer(max_latency=25.0)
    for _ in range(20):  # a burst's backlog: every batch waited two seconds before it ran
        optimizer.log_outbound(n=10, wait=2.0, duration=0.05)
    optimizer.trigger_refresh()
    assert 0 <= optimizer.wait <= MAX_BATCH_WAIT_S


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/score", "/score"),
        ("/metrics", "/metrics"),
        ("/static_content/swagger-ui.css", "/static_content/"),
        ("/wp-admin/../../etc/passwd", UNMATCHED_PATH),
        ("/score/", UNMATCHED_PATH),
    ],
)
def test_metrics_labels_come_from_the_services_routes(path: str, label: str) -> None:
    assert metrics_label(path, ["/score"]) == label


def _timed_out_call(app: Any, timeout_s: float) -> tuple[float, list[MutableMapping[str, Any]]]:
    """Runs ``app`` inside BentoML's TimeoutMiddleware: the seconds it took and what was sent."""
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        scope = {"type": "http", "method": "GET", "path": "/readyz", "headers": []}
        await TimeoutMiddleware(app, timeout=timeout_s)(scope, receive, send)

    started = time.monotonic()
    try:
        asyncio.run(run())
    finally:
        elapsed = time.monotonic() - started
    return elapsed, sent


def test_an_error_before_the_answer_is_raised_at_once_not_after_the_timeout() -> None:
    async def refused(scope: Any, receive: Any, send: Any) -> None:
        raise ConnectionRefusedError("a dependency is down")

    async def timed_out(scope: Any, receive: Any, send: Any) -> None:
        raise TimeoutError("a dependency did not answer")  # the app's own, not the middleware's deadline

    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        _timed_out_call(refused, timeout_s=30)
    with pytest.raises(TimeoutError, match="dependency"):
        _timed_out_call(timed_out, timeout_s=30)
    assert time.monotonic() - started < 5


def test_an_app_that_does_not_answer_in_time_gets_a_504_and_a_slow_body_still_finishes() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(30)

    elapsed, sent = _timed_out_call(silent, timeout_s=0.2)
    assert elapsed < 5 and sent[0]["status"] == 504

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.4)  # past the timeout: it only bounds the wait for the answer to start
        await send({"type": "http.response.body", "body": b"done"})

    elapsed, sent = _timed_out_call(streaming, timeout_s=0.2)
    assert [message.get("status", message.get("body")) for message in sent] == [200, b"done"]


def test_an_app_that_answers_its_own_cancellation_is_not_an_error() -> None:
    """An app that catches the deadline's cancellation and answers (a 503 of its own) is heard."""

    async def answers_when_cancelled(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"busy"})

    elapsed, sent = _timed_out_call(answers_when_cancelled, timeout_s=0.2)
    assert elapsed < 5 and sent[0]["status"] == 503


def test_a_list_answer_is_the_json_bentoml_wrote_from_the_models_own_serializer() -> None:
    import json

    from _bentoml_sdk.io_models import IORootModel  # pants: no-infer-dep  (inside bentoml)
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        value: float | None

    class Answers(IORootModel[list[Item]]):
        pass

    answers = Answers(
        [Item(name='caf\u00e9 "x"', value=0.1), Item(name="b", value=None), Item(name="c", value=1e300)]
    )
    text = answers.model_dump_json()
    assert json.loads(text) == json.loads(json.dumps(answers.model_dump(mode="json")))
    assert text.startswith('[{"name":') and text.endswith("}]")
    with_options = answers.model_dump_json(exclude={"nothing"})  # BentoML's own way: json.dumps
    assert json.loads(with_options) == json.loads(text) and with_options.startswith('[{"name": ')
