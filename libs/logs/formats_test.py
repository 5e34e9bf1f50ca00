import io
import json
import logging
import sys

import pytest

from libs.logs.formats import LOG_FORMAT_VARIABLE, configure_command, json_formatter, log_format


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
