"""How the shadow scores a gathered batch of answered requests and logs its predictions.

One implementation, run where ``libs.serving.shadow`` puts it: in the service worker's shadow thread
(in-process use, tests) or in the shadow's own child process (``libs.serving.shadow_child``, what
services use). Requests are merged into one predict call per predict function, as the service's
adaptive batching does for the champion; a merged call that raises is retried request by request, so
one request's rows never cost another's shadow scores. Rows that are not scored are reported through
``on_drop(reason, rows)``; whoever runs the scoring decides where that count goes.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from libs.modelfiles.bundle import Champion
from libs.predictionlog.logger import PredictionLogger
from libs.serving.reload import LiveChampion, NoChampion

log = logging.getLogger(__name__)

SHADOW_LOG_SUFFIX = "-shadow"
CHAMPION_OUTPUT, CHAMPION_VERSION = "champion_output", "champion_version"


def shadow_log_name(agent: str) -> str:
    """The prediction-log folder of an agent's shadow scores."""
    return f"{agent}{SHADOW_LOG_SUFFIX}"


@dataclass(frozen=True, slots=True)
class ShadowRequest:
    """One answered request, as the shadow needs it (picklable: it crosses to the shadow's process)."""

    rows: Sequence[Any]
    logged: Sequence[Mapping[str, Any]]
    champion_outputs: Sequence[float]
    champion_version: str
    predict: Callable[[Any, Sequence[Any]], Any]
    answered_at: datetime  # the shadow's records carry the time the champion answered, as its own do

    def __reduce__(self) -> tuple[Callable[..., ShadowRequest], tuple[Any, ...]]:
        """Crosses to the shadow's process as plain values, not pydantic objects and dicts.

        The worker pickles every request it hands the shadow, under the interpreter lock its answers
        are made under. As tuples of values, with the checks that keep the rebuilt rows faithful,
        agent2's 28-row requests pickle in about the time their objects take (3.6 against 3.9 ms
        for 64 requests here) and in 60% of the bytes, which the child reads back without
        unpickling 28 pydantic objects a request."""
        return _unpacked, (
            _packed_rows(self.rows),
            _packed_records(self.logged),
            list(self.champion_outputs),
            self.champion_version,
            self.predict,
            self.answered_at,
        )


# (model, field names, sets of fields the client sent, one tuple per row: index into those sets,
# then the values), or (None, (), (), the rows as they are).
PackedRows = tuple[type[BaseModel] | None, tuple[str, ...], tuple[frozenset[str], ...], list[Any]]


def _packed_rows(rows: Sequence[Any]) -> PackedRows:
    """Rows of one plain pydantic model as values; anything else as it is."""
    kinds = {type(row) for row in rows}
    kind = kinds.pop() if len(kinds) == 1 else None
    names = _constructible_fields(kind) if kind is not None and issubclass(kind, BaseModel) else None
    if kind is None or names is None or not _values_say_all(names, rows):
        return None, (), (), list(rows)
    sent: dict[frozenset[str], int] = {}
    values = [
        (sent.setdefault(frozenset(row.model_fields_set), len(sent)), *row.__dict__.values()) for row in rows
    ]
    return kind, names, tuple(sent), values


@functools.cache
def _constructible_fields(kind: type[BaseModel]) -> tuple[str, ...] | None:
    """The model's field names, or None if it has an alias ``model_construct`` could read as another
    field's name. Once per model: this runs for every request the worker hands the shadow."""
    if any(field.alias not in (None, name) for name, field in kind.model_fields.items()):
        return None
    return tuple(kind.model_fields)


def _values_say_all(names: tuple[str, ...], rows: Sequence[BaseModel]) -> bool:
    """True when every row is its fields' values and nothing else: no extra fields, no private
    attributes."""
    return all(
        tuple(row.__dict__) == names
        and not getattr(row, "__pydantic_extra__", None)
        and not getattr(row, "__pydantic_private__", None)
        for row in rows
    )


def _packed_records(records: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...] | None, list[Any]]:
    """Records with the same keys as (keys, value tuples); anything else as it is."""
    keys = tuple(records[0]) if records and isinstance(records[0], Mapping) else None
    if keys is not None and all(isinstance(record, Mapping) and tuple(record) == keys for record in records):
        return keys, [tuple(record.values()) for record in records]
    return None, list(records)


def _unpacked(
    rows: PackedRows, logged: tuple[tuple[str, ...] | None, list[Any]], *rest: Any
) -> ShadowRequest:
    kind, names, sent, values = rows
    keys, records = logged
    return ShadowRequest(
        # The rows were validated when the request was answered: rebuilt without validating again.
        (
            values
            if kind is None
            else [
                kind.model_construct(set(sent[row[0]]), **dict(zip(names, row[1:], strict=True)))
                for row in values
            ]
        ),
        records if keys is None else [dict(zip(keys, record, strict=True)) for record in records],
        *rest,
    )


class ShadowScoring:
    """Scores batches with the current shadow of ``live`` and logs each request's scores to ``logger``."""

    def __init__(
        self, agent: str, live: LiveChampion, logger: PredictionLogger, on_drop: Callable[[str, int], None]
    ) -> None:
        self.agent, self.live, self.logger, self.on_drop = agent, live, logger, on_drop
        self.calls = 0  # shadow predict calls made: fewer than requests scored when they merge
        self.scored = 0

    def score(self, batch: Sequence[ShadowRequest]) -> None:
        """Never raises for a request's sake: a failure costs that request's rows, counted as dropped."""
        try:
            self._score(batch)
        except Exception as error:  # these rows are lost, counted; the caller goes on with the next batch
            log.warning("shadow %s: %d requests not scored: %s", self.agent, len(batch), type(error).__name__)
            self.on_drop("error", sum(len(item.rows) for item in batch))

    def _score(self, batch: Sequence[ShadowRequest]) -> None:
        started = time.perf_counter()
        try:
            shadow = self.live.current
        except NoChampion:  # removed (or broken) since the requests were queued: not scored, counted
            self.on_drop("error", sum(len(item.rows) for item in batch))
            return
        for predict in dict.fromkeys(item.predict for item in batch):  # one call per predict function
            group = [item for item in batch if item.predict == predict]
            outputs: list[float] | None
            try:
                outputs = self._predict(shadow, group)
            except Exception:  # one request's rows must not cost the others their scores
                outputs = None if len(group) > 1 else []
            if outputs is None:
                for item in group:
                    self._score([item])
                continue
            self._log(shadow, group, outputs, started)

    def _predict(self, shadow: Champion, group: list[ShadowRequest]) -> list[float]:
        rows = [row for item in group for row in item.rows]
        try:
            self.calls += 1
            outputs = [float(value) for value in group[0].predict(shadow.model, rows)]
            if len(outputs) != len(rows):
                raise ValueError(f"{len(outputs)} shadow outputs for {len(rows)} rows")
        except Exception as error:  # a failing shadow costs its own scores, nothing else
            if len(group) == 1:
                log.warning(
                    "shadow %s v%s failed on %d rows: %s",
                    shadow.model_name,
                    shadow.model_version,
                    len(rows),
                    error,
                )
                self.on_drop("error", len(rows))
            raise
        return outputs

    def _log(
        self, shadow: Champion, group: list[ShadowRequest], outputs: list[float], started: float
    ) -> None:
        """Each request's rows as a batch of their own, stamped with its answer's time: one merged call
        must not make its requests' records one indistinguishable, same-time block in the log."""
        if not outputs:  # the one request of a failed call: already counted as dropped
            return
        latency_ms = (time.perf_counter() - started) * 1000.0
        offset = 0
        for item in group:
            start, offset = offset, offset + len(item.rows)  # submit checked rows, logs and answers agree
            try:
                inputs = [
                    {**row, CHAMPION_OUTPUT: answer, CHAMPION_VERSION: item.champion_version}
                    for row, answer in zip(item.logged, item.champion_outputs, strict=True)
                ]
            except Exception:  # this request's records cannot be built: it alone loses its scores
                self.on_drop("error", len(item.rows))
                continue
            self.logger.log_batch(
                inputs,
                outputs[start:offset],
                model_name=shadow.model_name,
                model_version=shadow.model_version,
                latency_ms=latency_ms,
                timestamp=item.answered_at,
            )
            self.scored += len(inputs)
