"""The ``telemetry`` section of a cluster config, and the environment it becomes.

Ray Serve starts its proxies and replicas itself, so settings reach them as environment
variables of the Serve controller, which every proxy and replica inherits. The names are
OpenTelemetry's standard ones wherever one exists (``OTEL_*``), so operators can read and
override them as they would for any OpenTelemetry SDK.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator

TracesExporter = Literal["none", "console", "otlp-grpc", "otlp-http"]

# Ray Serve's own tracing hooks: our exporter factory and the sampling ratio of new traces.
RAY_TRACING_EXPORTER_ENV = "RAY_SERVE_TRACING_EXPORTER_IMPORT_PATH"
RAY_TRACING_SAMPLING_ENV = "RAY_SERVE_TRACING_SAMPLING_RATIO"
SPAN_PROCESSORS_IMPORT_PATH = "services.telemetry.tracing:span_processors"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
LOG_FORMAT_ENV = "LLM_FLEET_LOG_FORMAT"
LOG_LEVEL_ENV = "LLM_FLEET_LOG_LEVEL"

DEFAULT_OTLP_ENDPOINTS = {
    "otlp-grpc": "http://localhost:4317",
    "otlp-http": "http://localhost:4318/v1/traces",
}
_OTLP_PROTOCOLS = {"otlp-grpc": "grpc", "otlp-http": "http/protobuf"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TracingConfig(_Strict):
    exporter: TracesExporter = "none"
    """Where spans go: an OpenTelemetry collector over OTLP (gRPC or HTTP), the replicas'
    logs (``console``), or nowhere."""
    endpoint: str | None = None
    """The OTLP endpoint; default ``http://localhost:4317`` (gRPC) or
    ``http://localhost:4318/v1/traces`` (HTTP)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Sent with every export (a collector's API key, a tenant header)."""
    sample_ratio: Annotated[float, Field(ge=0, le=1)] = 1.0
    """Share of new traces recorded; a caller's sampled ``traceparent`` is always honoured."""
    capture_content: bool = False
    """Put prompts and completions in spans. Off by default: they may hold personal data."""
    service_name: Annotated[str, Field(min_length=1)] = "llm-fleet"

    @model_validator(mode="after")
    def _endpoint_needs_otlp(self) -> TracingConfig:
        if self.endpoint is not None and not self.exporter.startswith("otlp"):
            raise ValueError(
                f"endpoint: only the otlp exporters send to one, not '{self.exporter}'"
            )
        return self

    @property
    def otlp_endpoint(self) -> str | None:
        return self.endpoint or DEFAULT_OTLP_ENDPOINTS.get(self.exporter)


class MetricsConfig(_Strict):
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    """Ray's metrics agent serves every process's metrics (ours, Ray Serve's and vLLM's)
    at ``http://<node>:<port>/metrics`` on each node `fleet up` starts."""


class LogsConfig(_Strict):
    format: Literal["json", "text"] = "json"
    """``json``: one object per line with the request and trace ids, for log shippers."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class TelemetryConfig(_Strict):
    """Traces, metrics and logs. Fixed while the cluster runs: `fleet down`, then `fleet up`
    to change them."""

    tracing: TracingConfig = Field(default_factory=TracingConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    logs: LogsConfig = Field(default_factory=LogsConfig)


def telemetry_env(config: TelemetryConfig, *, cluster: str) -> dict[str, str]:
    """The environment every Ray Serve process of the cluster gets."""
    tracing = config.tracing
    env = {
        "OTEL_SERVICE_NAME": tracing.service_name,
        "OTEL_RESOURCE_ATTRIBUTES": f"llm_fleet.cluster={cluster}",
        CAPTURE_CONTENT_ENV: str(tracing.capture_content).lower(),
        LOG_FORMAT_ENV: config.logs.format,
        LOG_LEVEL_ENV: config.logs.level,
    }
    if tracing.exporter == "none":
        return {**env, "OTEL_TRACES_EXPORTER": "none"}
    env |= {
        RAY_TRACING_EXPORTER_ENV: SPAN_PROCESSORS_IMPORT_PATH,
        RAY_TRACING_SAMPLING_ENV: str(tracing.sample_ratio),
        "OTEL_TRACES_EXPORTER": "console" if tracing.exporter == "console" else "otlp",
    }
    if tracing.exporter in _OTLP_PROTOCOLS:
        env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = _OTLP_PROTOCOLS[tracing.exporter]
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = str(tracing.otlp_endpoint)
        if tracing.headers:
            # The OTLP exporters read W3C-baggage-style pairs: values percent-encoded.
            pairs = (f"{key}={quote(value)}" for key, value in sorted(tracing.headers.items()))
            env["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = ",".join(pairs)
    return env
