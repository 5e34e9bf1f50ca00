"""Log lines for people or for machines, chosen by ``MLOPS_LOG_FORMAT`` (``text`` or ``json``).

Text is the default at a terminal; the images set ``json``, one object per line, so a log store
(Loki, Elasticsearch, CloudWatch) can filter by field instead of parsing sentences. Every JSON
line has ``time``, ``level``, ``logger`` and ``message``; fields given as ``extra`` (``agent``,
``model_name``, ``model_version``, ``latency_ms``, ``rows``, ``stage``) and BentoML's
``request_id`` and ``component`` are added where a record has them. The formatting is
python-json-logger's: it already handles extras, exceptions and non-JSON values.

The variable is read from the environment, not from ``libs.settings``: the coordinator and the
stages configure logging before anything else, and a bad settings file must still be logged.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LOG_FORMAT_VARIABLE = "MLOPS_LOG_FORMAT"
FORMATS = ("text", "json")
# Loggers of this project: INFO and up are shown; third-party ones stay at their WARNING default.
PROJECT_LOGGERS = ("libs", "agents", "services")
# Set by BentoML's TraceRecordFilter for its text format only; left out of JSON lines.
_TEXT_ONLY_ATTRIBUTES = ("levelname_bracketed", "trace_msg", "service_name")


def log_format() -> str:
    """``text`` or ``json``; any other value is refused, naming the variable, before anything runs."""
    value = os.environ.get(LOG_FORMAT_VARIABLE, "text").strip().lower() or "text"
    if value not in FORMATS:
        raise ValueError(f"{LOG_FORMAT_VARIABLE}={value!r}: expected one of {', '.join(FORMATS)}")
    return value


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message and any extras."""
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        reserved_attrs=[*RESERVED_ATTRS, *_TEXT_ONLY_ATTRIBUTES],
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_command(text_format: str = "%(message)s") -> None:
    """Logging for a command-line program (a pipeline stage): stderr, project loggers at INFO."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if log_format() == "json" else logging.Formatter(text_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    _show_project_info(PROJECT_LOGGERS)


def configure_server() -> None:
    """In a BentoML process, after BentoML set up its handlers: JSON lines if asked for.

    BentoML configures logging before it imports the service, so the handlers it installed are
    re-formatted here rather than replaced (its filters, which add the request id, stay).
    """
    if log_format() != "json":
        return
    formatter = json_formatter()
    for name in ("", "bentoml", "uvicorn.error", "circus"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(formatter)
    _show_project_info(PROJECT_LOGGERS)


def _show_project_info(names: Iterable[str]) -> None:
    for name in names:
        logging.getLogger(name).setLevel(logging.INFO)
