"""Log lines for people or for machines, chosen by ``MLOPS_LOG_FORMAT`` (``text`` or ``json``).

Text is the default at a terminal; the images set ``json``, one object per line, so a log store
(Loki, Elasticsearch, CloudWatch) can filter by field instead of parsing sentences. Every JSON
line has ``time``, ``level``, ``logger`` and ``message``; fields given as ``extra`` (``agent``,
``model_name``, ``model_version``, ``latency_ms``, ``rows``, ``stage``) and BentoML's
``request_id`` and ``component`` are added where a record has them. The formatting is
python-json-logger's: it already handles extras, exceptions and non-JSON values.

The variable is read from the environment, not from ``libs.settings``: the coordinator and the
stages configure logging before anything else, and a bad settings file must still be logged.

In a server's text log every record is one line: control characters in its message (a request
path BentoML's access log quotes, an exception message) are shown escaped (``\\n``, ``\\x1b``),
so a client cannot write a line that passes for another record, colour a terminal or put NUL
bytes in the file. A traceback stays on its lines; the exception messages in it are escaped too.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import sys
import traceback
from collections.abc import Generator, Iterable
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LOG_FORMAT_VARIABLE = "MLOPS_LOG_FORMAT"
FORMATS = ("text", "json")
# Loggers of this project: INFO and up are shown; third-party ones stay at their WARNING default.
PROJECT_LOGGERS = ("libs", "agents", "services")
# Set by BentoML's TraceRecordFilter for its text format only; left out of JSON lines.
_TEXT_ONLY_ATTRIBUTES = ("levelname_bracketed", "trace_msg", "service_name")
# What a terminal, grep or a log reader acts on: C0 (NUL, tab, newline, carriage return, ESC...), DEL,
# C1 (NEL...) and Unicode's line and paragraph separators; str.splitlines breaks at every one of them.
# Tab is escaped too: it breaks no line, but nothing in a one-line message needs it raw.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Where the server's log records are written: BentoML's handler (shared by these loggers) and ours.
_SERVER_LOGGERS = ("", "bentoml", "uvicorn.error", "circus")


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


def escape_controls(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return _CONTROL.sub(_escape, text)


def _escape_but_newlines(text: str) -> str:
    return _BUT_NEWLINE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


class OneLineMessages(logging.Formatter):
    """Formats as ``inner`` does, with each record's message (its arguments filled in) on one line.

    A traceback keeps its lines, with its exception messages escaped; any other control character
    left in the output (from another field) is escaped as well, so only a traceback's or a stack's
    own line breaks remain. The record itself is not changed: other handlers see it as it came.
    """

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        safe = copy.copy(record)
        safe.msg, safe.args = escape_controls(record.getMessage()), None
        if record.exc_info:
            safe.exc_text = self.formatException(record.exc_info)
        if record.stack_info:
            safe.stack_info = _escape_but_newlines(record.stack_info)
        return _escape_but_newlines(self.inner.format(safe))

    def formatException(self, ei: Any) -> str:
        """The traceback as Python prints it, each exception's message (and notes) escaped."""
        top = traceback.TracebackException(*ei[:3], compact=True)
        pending, seen = [top], set()
        while pending:  # the exception, its cause, context and group members: each formats its own
            each = pending.pop()
            if id(each) not in seen:
                seen.add(id(each))
                each.__class__ = _EscapedMessages
                linked = (each.__cause__, each.__context__, *(getattr(each, "exceptions", None) or ()))
                pending.extend(other for other in linked if other is not None)
        return _escape_but_newlines("".join(top.format()).removesuffix("\n"))


class _EscapedMessages(traceback.TracebackException):
    def format_exception_only(self, *args: Any, **kwargs: Any) -> Generator[str, None, None]:
        for line in super().format_exception_only(*args, **kwargs):
            yield escape_controls(line.removesuffix("\n")) + "\n"


def configure_server() -> None:
    """In a BentoML process, after BentoML set up its handlers: JSON lines if asked for, else its
    text lines with every record's message on one line (``OneLineMessages``).

    BentoML configures logging before it imports the service, so the handlers it installed are
    re-formatted here rather than replaced (its filters, which add the request id, stay). Every
    worker imports the service, so this runs in each of them.
    """
    handlers = {
        id(handler): handler for name in _SERVER_LOGGERS for handler in logging.getLogger(name).handlers
    }
    if log_format() != "json":
        for handler in handlers.values():
            if not isinstance(handler.formatter, OneLineMessages):
                handler.setFormatter(OneLineMessages(handler.formatter))
        return
    formatter = json_formatter()
    for handler in handlers.values():
        handler.setFormatter(formatter)
    _show_project_info(PROJECT_LOGGERS)


def _show_project_info(names: Iterable[str]) -> None:
    for name in names:
        logging.getLogger(name).setLevel(logging.INFO)
