"""A request's span tree and metrics, through a real Router over a scripted backend.

Only the model deployments are faked: routing, fallbacks, stream flattening and the
telemetry hooks are the production code, so these pin what an operator sees in a trace
and on a dashboard for each way a request can end.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.errors import ModelNotFoundError, PermissionDeniedError, RetryableError
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.requests import ChatCompletionRequest
from services.router.types import RoutingHints
from services.telemetry.metrics import Metrics, RequestRecord
from services.telemetry.request import REQUESTED_GUARD_POLICIES_ATTRIBUTE
from tests.unit.router.fakes import ROUTED, ScriptedBackend, chat_response
from tests.unit.telemetry.conftest import RecordingMetrics

CATALOG = ModelCatalog([ServedModel("alpha", "zoo:a"), ServedModel("beta", "b")])
USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def chunk(content: str, finish_reason: str | None = None) -> str:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}
    return event({"id": "chatcmpl-7", "model": "alpha", "choices": [choice]})


USAGE_EVENT = event({"id": "chatcmpl-7", "model": "alpha", "choices": [], "usage": USAGE})
# What vLLM streams when asked for usage: text, a batch ending in the finish reason, the
# usage event, then [DONE].
STREAM = [chunk("Hel"), [chunk("lo"), chunk("", "stop")], USAGE_EVENT, "data: [DONE]\n\n"]


def chat(model: str = "alpha", **params: object) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model=model, messages=[{"role": "user", "content": "hi"}], **params
    )


def only(spans: InMemorySpanExporter, name: str, kind: SpanKind) -> ReadableSpan:
    [span] = [s for s in spans.get_finished_spans() if s.name == name and s.kind == kind]
    return span


def request_span(spans: InMemorySpanExporter, name: str = "chat alpha") -> ReadableSpan:
    return only(spans, name, SpanKind.INTERNAL)


def client_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_recording_metrics_is_a_metrics() -> None:
    recorder: Metrics = RecordingMetrics()  # checked by type checkers; at run time, a smoke
    recorder.request(RequestRecord("http", "chat", "m", "", "", "ok", 1.0))


async def test_stream_span_tree_and_record(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": STREAM})
    router = Router(CATALOG, backend, metrics=metrics)
    stream = await router.generate_stream(chat(stream=True), RoutingHints(model="alpha"))
    assert metrics.requests == []  # the request is not over until its last chunk
    chunks = [c async for c in stream.chunks]

    root = request_span(spans)
    route = only(spans, "llm_fleet.route", SpanKind.INTERNAL)
    [call] = client_spans(spans)
    assert call.name == "chat alpha"
    assert root.parent is None
    assert {s.context.trace_id for s in spans.get_finished_spans()} == {root.context.trace_id}
    assert parent_of(route) == parent_of(call) == root.context.span_id

    attributes = root.attributes or {}
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "alpha"
    assert attributes["gen_ai.response.model"] == "alpha"
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["llm_fleet.transport"] == "http"
    assert attributes["llm_fleet.status"] == "ok"
    assert attributes["gen_ai.usage.input_tokens"] == 5
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attributes["gen_ai.response.id"] == "chatcmpl-7"
    assert [e.name for e in root.events] == ["gen_ai.first_token"]
    assert root.status.status_code == StatusCode.UNSET
    # No prompt in spans unless content capture is on.
    assert "gen_ai.input.messages" not in attributes
    assert "gen_ai.first_token" in [e.name for e in call.events]
    assert call.status.status_code == StatusCode.UNSET

    [record] = metrics.requests
    assert (record.status, record.transport, record.endpoint, record.model) == (
        "ok",
        "http",
        "chat",
        "alpha",
    )
    assert record.ttft_s is not None and 0 <= record.ttft_s <= record.duration_s
    assert (record.input_tokens, record.output_tokens) == (5, 3)

    # Telemetry always asks the engine for usage...
    sent = backend.calls[0][2]
    assert sent.stream_options is not None and sent.stream_options.include_usage is True
    # ...but a caller that did not ask does not get the usage event.
    assert not any('"usage"' in c for c in chunks)
    assert chunks[-1] == "data: [DONE]\n\n"


async def test_stream_keeps_usage_event_when_the_caller_asked(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": STREAM})
    router = Router(CATALOG, backend, metrics=metrics)
    request = chat(stream=True, stream_options={"include_usage": True})
    stream = await router.generate_stream(request, RoutingHints(model="alpha"))
    chunks = [c async for c in stream.chunks]
    assert USAGE_EVENT in chunks
    [record] = metrics.requests
    assert (record.input_tokens, record.output_tokens) == (5, 3)


async def test_caller_stream_options_are_kept_besides_usage(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": STREAM})
    request = chat(stream=True, stream_options={"continuous_usage_stats": True})
    stream = await Router(CATALOG, backend, metrics=metrics).generate_stream(
        request, RoutingHints(model="alpha")
    )
    [c async for c in stream.chunks]
    options = backend.calls[0][2].stream_options
    assert options is not None
    assert (options.include_usage, options.continuous_usage_stats) == (True, True)


async def test_unary_takes_usage_from_the_body_and_has_no_ttft(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": [chat_response("hello")]})
    result = await Router(CATALOG, backend, metrics=metrics).generate(
        chat(max_tokens=16, temperature=0.5), RoutingHints(model="alpha")
    )
    root = request_span(spans)
    attributes = root.attributes or {}
    assert attributes["gen_ai.usage.input_tokens"] == 1
    assert attributes["gen_ai.usage.output_tokens"] == 1
    assert attributes["gen_ai.request.max_tokens"] == 16
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.stream"] is False
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attributes["gen_ai.response.id"] == result.body.id
    assert [e.name for e in root.events] == []
    [call] = client_spans(spans)
    assert parent_of(call) == root.context.span_id

    [record] = metrics.requests
    assert record.status == "ok"
    assert record.ttft_s is None and record.tpot_s is None
    assert (record.input_tokens, record.output_tokens) == (1, 1)


async def test_unknown_model_is_an_error_span_and_record(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    router = Router(CATALOG, ScriptedBackend({}), metrics=metrics)
    with pytest.raises(ModelNotFoundError):
        await router.generate(chat("gamma"), RoutingHints(model="gamma"))
    root = request_span(spans, "chat gamma")
    attributes = root.attributes or {}
    assert root.status.status_code == StatusCode.ERROR
    assert attributes["error.type"] == "model_not_found"
    assert attributes["llm_fleet.status"] == "model_not_found"
    # Our own errors carry a message written for callers, not a stack trace.
    assert not [e for e in root.events if e.name == "exception"]
    assert client_spans(spans) == []

    # An invented name is no label value: callers could grow the series without bound.
    [record] = metrics.requests
    assert (record.status, record.model) == ("model_not_found", "")


async def test_unknown_model_on_a_stream_is_recorded_too(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    router = Router(CATALOG, ScriptedBackend({}), metrics=metrics)
    with pytest.raises(ModelNotFoundError):
        await router.generate_stream(chat("gamma", stream=True), RoutingHints(model="gamma"))
    assert request_span(spans, "chat gamma").status.status_code == StatusCode.ERROR
    assert [r.status for r in metrics.requests] == ["model_not_found"]


async def test_stream_closed_by_the_caller_is_cancelled_not_failed(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": [chunk(str(i)) for i in range(5)]})
    router = Router(CATALOG, backend, metrics=metrics)
    stream = await router.generate_stream(chat(stream=True), RoutingHints(model="alpha"))
    await anext(stream.chunks)
    await stream.chunks.aclose()

    assert backend.closed_early == 1
    root = request_span(spans)
    assert root.status.status_code == StatusCode.UNSET
    assert (root.attributes or {})["llm_fleet.status"] == "cancelled"
    [call] = client_spans(spans)  # exported, so ended
    assert call.status.status_code == StatusCode.UNSET
    [record] = metrics.requests
    assert record.status == "cancelled"
    assert record.ttft_s is not None


async def test_a_caller_hanging_up_after_done_got_the_whole_answer(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": [chunk("a"), chunk("b", "length"), USAGE_EVENT]})
    router = Router(CATALOG, backend, metrics=metrics)
    stream = await router.generate_stream(chat(stream=True), RoutingHints(model="alpha"))
    received = []
    async for sent in stream.chunks:
        received.append(sent)
        if sent.rstrip().endswith("data: [DONE]"):
            break  # the server notices the hang-up while asking for the end
    await stream.chunks.aclose()

    assert received[-1] == "data: [DONE]\n\n"
    [record] = metrics.requests
    assert record.status == "ok"
    assert record.output_tokens == USAGE["completion_tokens"]


async def test_stream_closed_before_its_first_chunk_is_still_finished(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": [chunk(str(i)) for i in range(5)]})
    router = Router(CATALOG, backend, metrics=metrics)
    stream = await router.generate_stream(chat(stream=True), RoutingHints(model="alpha"))
    await stream.chunks.aclose()
    assert [r.status for r in metrics.requests] == ["cancelled"]
    assert backend.closed_early == 1
    assert len(client_spans(spans)) == 1


async def test_fallback_is_counted_and_each_model_call_has_its_span(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend(
        {"alpha": [RetryableError("replica gone")], "beta": [chat_response("b", model="beta")]}
    )
    router = Router(CATALOG, backend, routing=ROUTED, metrics=metrics)
    result = await router.generate(chat("chat"), RoutingHints(model="chat"))
    assert result.decision.model == "beta"

    assert metrics.fallbacks == [{"route": "chat", "from_model": "alpha", "to_model": "beta"}]
    root = request_span(spans, "chat chat")
    first, second = sorted(client_spans(spans), key=lambda s: s.start_time or 0)
    assert (first.name, second.name) == ("chat alpha", "chat beta")
    assert first.status.status_code == StatusCode.ERROR
    assert (first.attributes or {})["error.type"] == "service_unavailable"
    assert second.status.status_code == StatusCode.UNSET
    assert parent_of(first) == parent_of(second) == root.context.span_id
    # The request succeeded, answered by the fallback.
    assert root.status.status_code == StatusCode.UNSET
    attributes = root.attributes or {}
    assert attributes["gen_ai.request.model"] == "chat"
    assert attributes["gen_ai.response.model"] == "beta"
    assert (attributes["llm_fleet.route"], attributes["llm_fleet.variant"]) == ("chat", "only")
    [record] = metrics.requests
    assert (record.status, record.model, record.route, record.variant) == (
        "ok",
        "beta",
        "chat",
        "only",
    )


async def test_grpc_transport_is_recorded(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    backend = ScriptedBackend({"alpha": STREAM})
    router = Router(CATALOG, backend, metrics=metrics)
    stream = await router.generate_stream(
        chat(stream=True), RoutingHints(model="alpha"), transport="grpc"
    )
    [c async for c in stream.chunks]
    assert (request_span(spans).attributes or {})["llm_fleet.transport"] == "grpc"
    assert [r.transport for r in metrics.requests] == ["grpc"]


async def test_request_span_continues_the_callers_trace(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    """Ray Serve's proxy span (from a caller's traceparent) is current when the router
    runs; the request span must hang under it, not start a new trace."""
    backend = ScriptedBackend({"alpha": [chat_response("hello")]})
    router = Router(CATALOG, backend, metrics=metrics)
    with trace.get_tracer("tests").start_as_current_span("caller") as caller:
        await router.generate(chat(), RoutingHints(model="alpha"))
    root = request_span(spans)
    assert parent_of(root) == caller.get_span_context().span_id
    assert root.context.trace_id == caller.get_span_context().trace_id


async def test_the_span_names_the_guard_policies_asked_for_even_when_refused(
    spans: InMemorySpanExporter, metrics: RecordingMetrics
) -> None:
    router = Router(CATALOG, ScriptedBackend({"alpha": STREAM}), metrics=metrics)
    hints = RoutingHints(model="alpha", guard_policies=("no-cards",))

    with pytest.raises(PermissionDeniedError):  # the caller may ask for none
        await router.generate(chat(), hints)

    attributes = request_span(spans).attributes or {}
    assert tuple(attributes[REQUESTED_GUARD_POLICIES_ATTRIBUTE]) == ("no-cards",)
    assert attributes["llm_fleet.status"] == "permission_denied"
