"""Structured logs: one JSON object per line, each with its request id and trace id.

Installed in our replicas' processes on the ``services`` and ``llm_fleet`` loggers (the
request path's); Ray's and vLLM's loggers keep their own formats. Lines go to stderr,
which Ray writes to the worker's log file, where a log shipper picks them up.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from services.telemetry.config import LOG_FORMAT_ENV, LOG_LEVEL_ENV

OUR_LOGGERS = ("services", "llm_fleet")
# Attributes every LogRecord has; anything else was passed as ``extra`` and is kept.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def serve_request_id() -> str | None:
    """Ray Serve's id of the request being handled (its ``x-request-id``), if any."""
    try:
        from ray.serve.context import _get_serve_request_context
    except ImportError:
        return None
    return _get_serve_request_context().request_id or None


class RequestContextFilter(logging.Filter):
    """Stamps each record with the request and trace being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        span = trace.get_current_span().get_span_context()
        record.request_id = serve_request_id()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        record.span_id = format(span.span_id, "016x") if span.is_valid else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD and value is not None and not key.startswith("_")
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging() -> None:
    """Set our loggers up as ``telemetry.logs`` says (read from the environment Ray gives
    every replica); safe to call again."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContextFilter())
    if os.environ.get(LOG_FORMAT_ENV, "json") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s [request %(request_id)s trace %(trace_id)s]"
                " %(message)s"
            )
        )
    level = os.environ.get(LOG_LEVEL_ENV, "INFO")
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        # Ray's replica loggers would print each line a second time, unformatted.
        logger.propagate = False
