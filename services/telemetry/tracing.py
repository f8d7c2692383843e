"""Spans: our exporters plugged into Ray Serve's tracing, and the tracer of our code.

Ray Serve traces every request itself: its proxies continue an incoming W3C
``traceparent`` (HTTP header or gRPC metadata) in a server span, and every handle call
carries the context into the replica it reaches. Ray builds the tracer provider in each
process and asks an import path for span processors; ``span_processors`` is ours, set up
from the standard ``OTEL_*`` variables ``telemetry_env`` writes. Our spans (routing,
guardrail checks, model calls) are children of Ray's through the current context, and
cost nothing while tracing is off (OpenTelemetry's no-op tracer).
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

from services.telemetry.config import CAPTURE_CONTENT_ENV

TRACER_NAME = "llm_fleet"


def span_processors() -> list[SpanProcessor]:
    """Ray Serve's exporter hook (``RAY_SERVE_TRACING_EXPORTER_IMPORT_PATH``)."""
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "none")
    if exporter == "console":
        return [SimpleSpanProcessor(ConsoleSpanExporter())]
    if exporter != "otlp":
        return []
    # Endpoint, headers and timeouts come from OTEL_EXPORTER_OTLP_TRACES_*.
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    # Batched off the request path; a collector that is down costs dropped spans, never
    # a slower request.
    return [BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=1000)]


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def captures_content() -> bool:
    """Whether prompts and completions may go into spans (off unless configured)."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "false").lower() == "true"


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None outside a recorded trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
