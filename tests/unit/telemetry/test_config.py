"""The telemetry config becomes environment variables, and those become span processors.

The two ends meet only inside Ray Serve processes, so both are checked here against the
variable names they share (``OTEL_*``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from pydantic import ValidationError

from services.telemetry.config import (
    CAPTURE_CONTENT_ENV,
    LOG_FORMAT_ENV,
    LOG_LEVEL_ENV,
    RAY_TRACING_EXPORTER_ENV,
    RAY_TRACING_SAMPLING_ENV,
    SPAN_PROCESSORS_IMPORT_PATH,
    LogsConfig,
    TelemetryConfig,
    TracingConfig,
)
from services.telemetry.config import telemetry_env as _telemetry_env
from services.telemetry.tracing import span_processors

OTEL_VARIABLES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
)


def telemetry_env(**tracing: object) -> dict[str, str]:
    return _telemetry_env(TelemetryConfig(tracing=TracingConfig(**tracing)), cluster="c1")


def test_no_tracing_still_names_the_service_and_sets_logs() -> None:
    env = telemetry_env()
    assert env == {
        "OTEL_SERVICE_NAME": "llm-fleet",
        "OTEL_RESOURCE_ATTRIBUTES": "llm_fleet.cluster=c1",
        CAPTURE_CONTENT_ENV: "false",
        LOG_FORMAT_ENV: "json",
        LOG_LEVEL_ENV: "INFO",
        "OTEL_TRACES_EXPORTER": "none",
    }
    # Ray Serve must not be told to load our exporter hook at all.
    assert RAY_TRACING_EXPORTER_ENV not in env


def test_console_sets_ray_hook_but_no_otlp_variables() -> None:
    env = telemetry_env(exporter="console", sample_ratio=0.25, capture_content=True)
    assert env["OTEL_TRACES_EXPORTER"] == "console"
    assert env[RAY_TRACING_EXPORTER_ENV] == SPAN_PROCESSORS_IMPORT_PATH
    assert env[RAY_TRACING_SAMPLING_ENV] == "0.25"
    assert env[CAPTURE_CONTENT_ENV] == "true"
    assert not any(key.startswith("OTEL_EXPORTER_OTLP") for key in env)


def test_otlp_grpc_defaults_to_the_local_collector() -> None:
    env = telemetry_env(exporter="otlp-grpc")
    assert env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "grpc"
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "http://localhost:4317"
    assert "OTEL_EXPORTER_OTLP_TRACES_HEADERS" not in env


def test_otlp_http_uses_the_configured_endpoint() -> None:
    env = telemetry_env(exporter="otlp-http", endpoint="https://otel.example:4318/v1/traces")
    assert env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "https://otel.example:4318/v1/traces"


def test_otlp_http_default_endpoint_has_the_traces_path() -> None:
    env = telemetry_env(exporter="otlp-http")
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "http://localhost:4318/v1/traces"


def test_headers_are_sorted_and_percent_encoded() -> None:
    env = telemetry_env(
        exporter="otlp-grpc", headers={"x-tenant": "a b", "authorization": "Bearer k=1,2"}
    )
    # Unencoded, the ',' and '=' in the value would split it into bogus pairs.
    assert env["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] == (
        "authorization=Bearer%20k%3D1%2C2,x-tenant=a%20b"
    )


def test_logs_settings_reach_the_environment() -> None:
    config = TelemetryConfig(logs=LogsConfig(format="text", level="DEBUG"))
    env = _telemetry_env(config, cluster="c1")
    assert (env[LOG_FORMAT_ENV], env[LOG_LEVEL_ENV]) == ("text", "DEBUG")


@pytest.mark.parametrize("exporter", ["none", "console"])
def test_an_endpoint_needs_an_otlp_exporter(exporter: str) -> None:
    with pytest.raises(ValidationError, match="endpoint"):
        TracingConfig(exporter=exporter, endpoint="http://collector:4317")


def test_sample_ratio_is_a_share() -> None:
    with pytest.raises(ValidationError, match="sample_ratio"):
        TracingConfig(sample_ratio=1.5)


@pytest.fixture
def processors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SpanProcessor]]:
    """A clean OTEL_* environment; every processor a test appends is shut down after it
    (a batch processor runs a thread)."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    made: list[SpanProcessor] = []
    yield made
    for processor in made:
        processor.shutdown()


def test_no_exporter_means_no_processors(processors: list[SpanProcessor]) -> None:
    processors += span_processors()
    assert processors == []


def test_explicit_none_means_no_processors(
    processors: list[SpanProcessor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    processors += span_processors()
    assert processors == []


def test_console_exports_each_span_as_it_ends(
    processors: list[SpanProcessor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    processors += span_processors()
    [processor] = processors
    assert isinstance(processor, SimpleSpanProcessor)
    assert isinstance(processor.span_exporter, ConsoleSpanExporter)


@pytest.mark.parametrize(
    ("protocol", "exporter_type"),
    [("grpc", GrpcSpanExporter), (None, GrpcSpanExporter), ("http/protobuf", HttpSpanExporter)],
)
def test_otlp_batches_through_the_exporter_of_the_protocol(
    processors: list[SpanProcessor],
    monkeypatch: pytest.MonkeyPatch,
    protocol: str | None,
    exporter_type: type,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    # Unreachable on purpose: nothing is exported before shutdown, which must not hang.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    if protocol is not None:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol)
    processors += span_processors()
    [processor] = processors
    assert isinstance(processor, BatchSpanProcessor)
    assert isinstance(processor.span_exporter, exporter_type)


def test_the_config_environment_builds_the_matching_processor(
    processors: list[SpanProcessor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two halves agree: what telemetry_env writes is what span_processors reads."""
    env = telemetry_env(exporter="otlp-http", endpoint="http://127.0.0.1:9/v1/traces")
    for name in OTEL_VARIABLES:
        if name in env:
            monkeypatch.setenv(name, env[name])
    processors += span_processors()
    [processor] = processors
    assert isinstance(processor, BatchSpanProcessor)
    assert isinstance(processor.span_exporter, HttpSpanExporter)
