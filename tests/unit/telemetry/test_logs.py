"""Log lines as a shipper reads them: one JSON object each, with the trace to join on."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.telemetry.config import LOG_FORMAT_ENV, LOG_LEVEL_ENV
from services.telemetry.logs import (
    OUR_LOGGERS,
    JsonFormatter,
    RequestContextFilter,
    configure_logging,
)


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("services.router", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def formatted(made: logging.LogRecord) -> dict[str, object]:
    RequestContextFilter().filter(made)
    line = JsonFormatter().format(made)
    assert "\n" not in line  # one object per line
    return json.loads(line)


def test_json_line_has_the_standard_fields_and_extras() -> None:
    line = formatted(record("hello %s", "world", tenant="acme", tokens=3))
    assert line["level"] == "WARNING"
    assert line["logger"] == "services.router"
    assert line["message"] == "hello world"
    assert (line["tenant"], line["tokens"]) == ("acme", 3)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(line["time"]))
    # LogRecord internals are not fields of the line.
    assert not {"args", "msg", "levelno", "pathname", "lineno"} & line.keys()


def test_unserialisable_extras_are_written_as_strings() -> None:
    """An extra json cannot encode must not lose the line."""
    line = formatted(record(kind=ValueError, nested={"n": 1}))
    assert line["kind"] == str(ValueError)
    assert line["nested"] == {"n": 1}


def test_exceptions_are_one_field() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        made = logging.LogRecord("services", logging.ERROR, __file__, 1, "failed", None, None)
        made.exc_info = sys.exc_info()
    line = formatted(made)
    assert "ValueError: bad" in str(line["exception"])


def test_inside_a_span_the_line_carries_its_trace_and_span_ids(
    spans: InMemorySpanExporter,
) -> None:
    with trace.get_tracer("tests").start_as_current_span("work") as span:
        line = formatted(record())
    context = span.get_span_context()
    assert re.fullmatch(r"[0-9a-f]{32}", str(line["trace_id"]))
    assert re.fullmatch(r"[0-9a-f]{16}", str(line["span_id"]))
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_outside_a_span_no_ids_are_written() -> None:
    line = formatted(record())
    # None values are dropped, not written as null; outside Ray there is no request id.
    assert not {"trace_id", "span_id", "request_id"} & line.keys()


@pytest.fixture
def our_loggers() -> Iterator[list[logging.Logger]]:
    """Our loggers as configure_logging leaves them, restored after the test."""
    loggers = [logging.getLogger(name) for name in OUR_LOGGERS]
    saved = [(logger.handlers[:], logger.propagate, logger.level) for logger in loggers]
    yield loggers
    for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
        logger.handlers = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def test_configure_logging_defaults_to_json(
    our_loggers: list[logging.Logger], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LOG_FORMAT_ENV, raising=False)
    monkeypatch.delenv(LOG_LEVEL_ENV, raising=False)
    configure_logging()
    for logger in our_loggers:
        [handler] = logger.handlers
        assert isinstance(handler.formatter, JsonFormatter)
        assert any(isinstance(f, RequestContextFilter) for f in handler.filters)
        assert logger.level == logging.INFO
        # Otherwise Ray's root handlers print every line a second time.
        assert logger.propagate is False


def test_configure_logging_text_format_and_level(
    our_loggers: list[logging.Logger], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOG_FORMAT_ENV, "text")
    monkeypatch.setenv(LOG_LEVEL_ENV, "DEBUG")
    configure_logging()
    configure_logging()  # again: still one handler per logger
    logger = our_loggers[0]
    [handler] = logger.handlers
    assert type(handler.formatter) is logging.Formatter
    assert logger.level == logging.DEBUG

    # The plain format names the request and trace the filter stamps (None outside both).
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(io.StringIO())
    logger.debug("plain %d", 1)
    output = handler.stream.getvalue()
    assert "DEBUG services [request None trace None] plain 1" in output
    assert not output.lstrip().startswith("{")
