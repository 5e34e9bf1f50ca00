"""The prediction-log file format: what a served answer becomes on disk, and how it is written.

Files are ``<dir>/<agent>/date=YYYY-MM-DD/part-<time>-<uuid>.jsonl.gz``, each written atomically,
so a reader never sees half a file and DuckDB prunes by date through the hive key. The standard
library writes them: a Parquet writer (pyarrow) would be the largest distribution in every service
image (about 170 MiB) for files that only DuckDB reads back.

Columns: ``timestamp`` (UTC), ``model_name``, ``model_version``, ``latency_ms``, ``output`` and one
``input_<feature>`` column per input feature (the prefix keeps features from colliding with the
fixed columns). Within a file a column holds numbers (as floats) or text, never both; a missing or
non-finite number is ``null``. Writers are ``libs.predictionlog.logger``; the reader (DuckDB) is
``libs.monitoring.prediction_reader``.
"""

from __future__ import annotations

import gzip
import json
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from libs.atomicfiles import atomic_write_bytes

INPUT_PREFIX = "input_"
FIXED_COLUMNS = ("timestamp", "model_name", "model_version", "latency_ms", "output")
SUFFIX = ".jsonl.gz"
# A plain dict, or a pydantic request row: iterating a model yields its (field, value) pairs.
Inputs = Mapping[str, Any] | Iterable[tuple[str, Any]]
# One encoder for every value: json.dumps(..., allow_nan=False) would build a new one per call. Strings
# and finite floats skip it for the functions it calls on them itself, so the text is the same.
_JSON = json.JSONEncoder(allow_nan=False)
_JSON_TEXT = json.encoder.encode_basestring_ascii
_JSON_FLOAT = float.__repr__


@dataclass(frozen=True, slots=True)
class PredictionBatch:
    """The rows one request was answered for, with what they share: when, which model, how fast."""

    timestamp: datetime
    inputs: Sequence[Mapping[str, Any]]
    outputs: Sequence[Any]
    model_name: str
    model_version: str
    latency_ms: float


def write_batch(agent_dir: Path, batch: Sequence[PredictionBatch]) -> list[Path]:
    """One file per UTC date in the batch, each published atomically."""
    by_date: dict[date, list[PredictionBatch]] = defaultdict(list)
    for item in batch:
        by_date[item.timestamp.astimezone(UTC).date()].append(item)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    paths = []
    for day, items in sorted(by_date.items()):
        path = agent_dir / f"date={day.isoformat()}" / f"part-{stamp}-{uuid.uuid4().hex}{SUFFIX}"
        lines = _json_lines(items)
        # Level 1: most of the size saving at a fraction of the default level's CPU.
        paths.append(atomic_write_bytes(gzip.compress(lines.encode(), compresslevel=1), path))
    return paths


def _rows(items: Sequence[PredictionBatch]) -> list[dict[str, Any]]:
    """The records as dicts, one per row: what each line of a file holds."""
    columns = _columns(items)
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _json_lines(items: Sequence[PredictionBatch]) -> str:
    """``json.dumps(record, allow_nan=False) + "\\n"`` for each of ``_rows(items)``, made column by
    column: each value is encoded once (what a request's rows share, once per request) and the lines
    are filled into one template of the keys, a third of the work of encoding each record's dict."""
    columns = _columns(items, encoded=True)
    keys = ", ".join(_JSON_TEXT(name).replace("%", "%%") + ": %s" for name in columns)
    template = "{" + keys + "}\n"
    return "".join([template % values for values in zip(*columns.values(), strict=True)])


def _columns(items: Sequence[PredictionBatch], *, encoded: bool = False) -> dict[str, list[Any]]:
    """Column by column: what a batch shares is converted once per item, not per row. ``encoded``:
    each value as its JSON text."""
    finish = _json_texts if encoded else list
    column = _json_column if encoded else _column

    def repeated(values: list[Any]) -> list[Any]:
        """One value per item, repeated for each of its rows."""
        return [each for item, one in zip(items, values, strict=True) for each in [one] * len(item.outputs)]

    columns: dict[str, list[Any]] = {
        "timestamp": repeated(finish([item.timestamp.astimezone(UTC).isoformat() for item in items])),
        "model_name": repeated(finish([item.model_name for item in items])),
        "model_version": repeated(finish([item.model_version for item in items])),
        "latency_ms": repeated(column([item.latency_ms for item in items])),
        "output": column([output for item in items for output in item.outputs]),
    }
    features = sorted({name for item in items for row in item.inputs for name in row})
    for name in features:
        columns[INPUT_PREFIX + name] = column([row.get(name) for item in items for row in item.inputs])
    return columns


def _json_texts(values: list[Any]) -> list[str]:
    """Each value as the JSON text json.dumps(value, allow_nan=False) writes (and raises) for it:
    strings, finite floats and None directly, the rare rest through the encoder itself."""
    return [_BY_TYPE.get(type(value), _JSON.encode)(value) for value in values]


def _json_column(values: list[Any]) -> list[str]:
    """``_json_texts(_column(values))``; for a column of floats, ints and None (what models take) in
    passes that run in C but for the Nones."""
    kinds = set(map(type, values))
    if not kinds <= _NUMBERS:
        return _json_texts(_column(values))
    if type(None) in kinds:
        texts = [_NULL if value is None else _JSON_FLOAT(float(value)) for value in values]
    else:
        texts = list(map(_JSON_FLOAT, values if kinds == _FLOATS else map(float, values)))
    if _NOT_FINITE.isdisjoint(texts):
        return texts
    return [_NULL if text in _NOT_FINITE else text for text in texts]


def _float_text(value: float) -> str:
    return _JSON_FLOAT(value) if math.isfinite(value) else _JSON.encode(value)


_NULL = "null"
_FLOATS = frozenset({float})
_NUMBERS = frozenset({float, int, type(None)})
_NOT_FINITE = frozenset({"nan", "inf", "-inf"})  # float.__repr__ of NaN and the infinities
# By exact type: a subclass (a bool, a str or float subclass) is left to the encoder.
_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _JSON_TEXT,
    float: _float_text,
    type(None): lambda _: "null",
}


def _column(values: list[Any]) -> list[float | str | None]:
    """Numbers (and booleans) as floats so files from different batches share one type; else text."""
    present = [value for value in values if value is not None]
    if all(isinstance(value, int | float) for value in present):
        return [None if value is None or not math.isfinite(value) else float(value) for value in values]
    return [None if value is None else str(value) for value in values]


def as_utc(moment: datetime | date) -> datetime:
    """A date as its midnight UTC, a naive datetime as UTC, an aware one converted."""
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
