"""Shared fixtures of the telemetry tests: one global in-memory tracer provider and a
metrics recorder.

The code under test traces through the *global* provider (``trace.get_tracer``), so the
spans it makes can only be seen by installing one there. OpenTelemetry lets a process set
the global provider once, so it is installed once per session and each test only clears
the exporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.telemetry.config import CAPTURE_CONTENT_ENV
from services.telemetry.metrics import RequestRecord


def _global_sdk_provider() -> TracerProvider:
    """The global SDK provider, installing one unless something already did (a second
    ``set_tracer_provider`` is refused with only a warning, so check rather than call)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        trace.set_tracer_provider(TracerProvider())
        provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        pytest.fail(f"the global tracer provider is a {type(provider).__name__}, not the SDK's")
    return provider


@pytest.fixture(scope="session")
def span_exporter() -> Iterator[InMemorySpanExporter]:
    """Every span ended in this process from now on, exported synchronously as it ends."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    _global_sdk_provider().add_span_processor(processor)
    yield exporter
    # The provider stays (it cannot be unset); stop keeping the spans of later tests.
    processor.shutdown()


@pytest.fixture
def spans(
    span_exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> InMemorySpanExporter:
    """The exporter, emptied of earlier tests' spans; prompts stay out of spans (default)."""
    monkeypatch.delenv(CAPTURE_CONTENT_ENV, raising=False)
    span_exporter.clear()
    return span_exporter


@dataclass
class RecordingMetrics:
    """The ``Metrics`` protocol, keeping every call for assertions."""

    requests: list[RequestRecord] = field(default_factory=list)
    guardrail_decisions: list[dict[str, object]] = field(default_factory=list)
    fallbacks: list[dict[str, str]] = field(default_factory=list)
    shadows: list[dict[str, str]] = field(default_factory=list)
    replica_retries: list[str] = field(default_factory=list)

    def request(self, record: RequestRecord) -> None:
        self.requests.append(record)

    def guardrail_decision(
        self, *, route: str, direction: str, check: str, category: str, action: str, count: int
    ) -> None:
        self.guardrail_decisions.append(
            {
                "route": route,
                "direction": direction,
                "check": check,
                "category": category,
                "action": action,
                "count": count,
            }
        )

    def fallback(self, *, route: str, from_model: str, to_model: str) -> None:
        self.fallbacks.append({"route": route, "from_model": from_model, "to_model": to_model})

    def replica_retry(self, *, model: str) -> None:
        self.replica_retries.append(model)

    def shadow(self, *, route: str, model: str, status: str) -> None:
        self.shadows.append({"route": route, "model": model, "status": status})


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()
