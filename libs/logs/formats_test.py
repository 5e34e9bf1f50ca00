import io
import json
import logging
import sys

import pytest

from libs.logs.formats import (
    LOG_FORMAT_VARIABLE,
    OneLineMessages,
    configure_command,
    configure_server,
    escape_controls,
    json_formatter,
    log_format,
)


def _line(record: logging.LogRecord) -> dict[str, object]:
    return json.loads(json_formatter().format(record))


def _record(message: str, *, extra: dict[str, object] | None = None, exc: bool = False) -> logging.LogRecord:
    logger = logging.getLogger("libs.serving.answers")
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logger.makeRecord(logger.name, logging.ERROR, __file__, 1, message, (), exc_info, extra=extra)


def test_a_json_line_holds_time_level_logger_message_and_the_extras() -> None:
    extra = {"agent": "agent2", "model_name": "m", "model_version": "5", "latency_ms": 1.5, "rows": 2}
    line = _line(_record("answered 2 rows", extra=extra))
    assert {"time", "level", "logger", "message"} <= set(line)
    assert (line["level"], line["logger"], line["message"]) == (
        "ERROR",
        "libs.serving.answers",
        "answered 2 rows",
    )
    assert {key: line[key] for key in extra} == extra
    assert "levelname" not in line and "msecs" not in line  # record internals are not repeated


def test_bentomls_text_only_attributes_stay_out_and_its_request_id_stays_in() -> None:
    extra = {"levelname_bracketed": "[INFO]", "trace_msg": "", "service_name": "x", "request_id": 7}
    line = _line(_record("hello", extra=extra))
    assert line["request_id"] == 7
    assert not {"levelname_bracketed", "trace_msg", "service_name"} & set(line)


def test_an_exception_is_one_json_field_not_extra_lines() -> None:
    text = json_formatter().format(_record("failed", exc=True))
    assert "\n" not in text
    assert "RuntimeError: boom" in json.loads(text)["exc_info"]


@pytest.mark.parametrize("value, expected", [("", "text"), ("text", "text"), (" JSON ", "json")])
def test_the_format_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, value)
    assert log_format() == expected


def test_an_unknown_format_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, "xml")
    with pytest.raises(ValueError, match=LOG_FORMAT_VARIABLE):
        log_format()


def test_a_command_in_json_mode_writes_one_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, "json")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setattr("sys.stderr", io.StringIO())
    try:
        configure_command()
        logging.getLogger("agents.agent3.stages").info("trained", extra={"agent": "agent3"})
        logging.getLogger("some.library").info("not shown: third-party INFO stays quiet")
        written = root.handlers[0].stream.getvalue()  # type: ignore[attr-defined]
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in written.splitlines()]
    assert [(line["message"], line["agent"]) for line in lines] == [("trained", "agent3")]


FORGED = "\n2026-12-07T17:59:59+0000 [ERROR] FORGED\x1b[31m"
ESCAPED_FORGED = "\\n2026-12-07T17:59:59+0000 [ERROR] FORGED\\x1b[31m"
# Every kind of control character: C0 (NUL, tab, CR, LF, VT, FF, ESC...), DEL, C1 (NEL) and U+2028/9.
CONTROLS = "".join(map(chr, range(0x20))) + "\x7f\x85\x9b\u2028\u2029"


def _text_record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    logger = logging.getLogger("bentoml.access")
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, args, exc_info)


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def test_escaping_shows_every_control_character_and_leaves_the_rest() -> None:
    escaped = escape_controls("a" + CONTROLS + "é€ 🙂")
    assert escaped.isprintable() and escaped.endswith("é€ 🙂")
    assert escape_controls("\n\r\t\x00\x1b\x7f\x85\u2028") == "\\n\\r\\t\\x00\\x1b\\x7f\\x85\\u2028"


def test_a_text_record_is_one_line_whatever_its_message_and_arguments_hold() -> None:
    formatter = OneLineMessages(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
    record = _text_record("%s (path=%s)" + CONTROLS, "client", "/x" + FORGED + CONTROLS)
    text = formatter.format(record)
    assert len(text.splitlines()) == 1 and text.isprintable(), repr(text)
    assert "/x" + ESCAPED_FORGED in text
    assert record.getMessage().endswith(CONTROLS)  # the record itself is left as it came


def test_a_traceback_keeps_its_lines_and_escapes_the_exception_messages() -> None:
    cause = _raised(ValueError("cause" + FORGED))
    error = RuntimeError("failed" + FORGED + "\x00")
    error.__cause__ = cause
    text = OneLineMessages().format(_text_record("request failed" + FORGED, exc=_raised(error)))
    lines = text.splitlines()
    assert lines[0] == "request failed" + ESCAPED_FORGED
    assert "Traceback (most recent call last):" in lines and len(lines) > 4
    assert "ValueError: cause" + ESCAPED_FORGED in lines
    assert "RuntimeError: failed" + ESCAPED_FORGED + "\\x00" in lines
    assert len([line for line in lines if "FORGED" in line]) == 3  # those three, each escaped
    assert all(line.isprintable() for line in lines), text


def test_a_server_in_text_mode_writes_one_line_per_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, "text")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # as BentoML's: one handler on its loggers and the root
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
    loggers = [logging.getLogger(name) for name in ("", "bentoml")]
    saved = [(logger.handlers[:], logger.propagate) for logger in loggers]
    try:
        for logger in loggers:
            logger.handlers[:] = [handler]
        logging.getLogger("bentoml").propagate = False
        configure_server()
        configure_server()  # idempotent: the formatter is wrapped once
        assert isinstance(handler.formatter, OneLineMessages)
        assert not isinstance(handler.formatter.inner, OneLineMessages)
        logging.getLogger("bentoml.access").warning("%s (path=%s)", "127.0.0.1", "/x" + FORGED + "\x00")
        logging.getLogger("services.coordinator").warning("agent said " + FORGED)
    finally:
        for logger, (handlers, propagate) in zip(loggers, saved, strict=True):
            logger.handlers[:], logger.propagate = handlers, propagate
    written = stream.getvalue()
    assert len(written.splitlines()) == 2 and "\x00" not in written and "\x1b" not in written, written
    escaped = "/x" + ESCAPED_FORGED + "\\x00"
    assert escaped in written.splitlines()[0] and ESCAPED_FORGED in written.splitlines()[1], written
