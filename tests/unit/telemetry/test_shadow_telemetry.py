"""A shadow copy is traced in the caller's trace and counted by outcome."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.router.requests import CompletionRequest
from services.router.shadow import ShadowMirror
from services.router.stats import RoutingStats
from services.routing.shadow_config import ShadowConfig
from services.telemetry.tracing import tracer
from tests.unit.router.fakes import ScriptedBackend, chat_response
from tests.unit.telemetry.conftest import RecordingMetrics

REQUEST = CompletionRequest(model="alpha", prompt="hi")
SHADOW = ShadowConfig(model="shadow", fraction=1.0)


async def test_a_shadow_copy_has_its_span_under_the_request_and_is_counted(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"shadow": [chat_response("x", model="shadow")]})
    mirror = ShadowMirror(backend, RoutingStats(metrics))
    with tracer().start_as_current_span("request") as request:
        mirror.maybe_mirror("r", SHADOW, REQUEST)
    await mirror.drain()

    [copy] = [span for span in spans.get_finished_spans() if span.name == "llm_fleet.shadow shadow"]
    assert copy.parent is not None
    assert copy.parent.span_id == request.get_span_context().span_id
    assert metrics.shadows == [{"route": "r", "model": "shadow", "status": "ok"}]


async def test_failed_and_dropped_copies_are_counted(metrics: RecordingMetrics) -> None:
    backend = ScriptedBackend({"shadow": [RuntimeError("engine died")]})
    mirror = ShadowMirror(backend, RoutingStats(metrics))
    mirror.maybe_mirror("r", SHADOW, REQUEST)
    await mirror.drain()
    full = ShadowConfig(model="shadow", fraction=1.0, max_in_flight=1)
    mirror.maybe_mirror("r", full, REQUEST)
    mirror.maybe_mirror("r", full, REQUEST)  # the first is still running: dropped
    await mirror.drain()
    assert [shadow["status"] for shadow in metrics.shadows] == ["error", "dropped", "error"]
