"""Round trips through the SDK's own OTLP exporters into the test receiver.

The receiver is only worth trusting in other tests if what the real exporters send decodes to
what the code set on its spans, so these use the SDK end to end on both transports rather than
hand-built protobufs.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    format_span_id,
    set_span_in_context,
)

from tests.support.otlp_receiver import OtlpReceiver

# Short enough that a receiver that is not answering fails the test fast instead of retrying.
EXPORT_TIMEOUT_S = 2.0


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        yield started


@pytest.fixture
def tracer_for() -> Iterator[Callable[[SpanExporter], Tracer]]:
    """Builds tracers on local providers, so no test touches the global one; shuts them down."""
    providers: list[TracerProvider] = []

    def make(exporter: SpanExporter) -> Tracer:
        provider = TracerProvider(resource=Resource.create({"service.name": "test-svc"}))
        # Simple (not batch) so each span is exported, synchronously, as it ends.
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers.append(provider)
        return provider.get_tracer("tests.unit.telemetry")

    yield make
    for provider in providers:
        provider.shutdown()


@dataclass(frozen=True)
class _Sent:
    trace_id: str
    parent_id: str
    child_id: str


def _send_parent_and_child(tracer: Tracer) -> _Sent:
    """Emits a server span with a failing client child that carries every attribute type."""
    with (
        tracer.start_as_current_span("handle-request", kind=SpanKind.SERVER) as parent,
        tracer.start_as_current_span(
            "call-backend",
            kind=SpanKind.CLIENT,
            attributes={
                "model": "tiny",
                "tokens": 42,
                "temperature": 0.5,
                "streamed": True,
                "stops": ["\n", "END"],
            },
        ) as child,
    ):
        child.add_event("first-token", {"ttft_ms": 12})
        child.set_status(Status(StatusCode.ERROR, "backend unavailable"))
    parent_context = parent.get_span_context()
    return _Sent(
        trace_id=f"{parent_context.trace_id:032x}",
        parent_id=format_span_id(parent_context.span_id),
        child_id=format_span_id(child.get_span_context().span_id),
    )


def _assert_received(receiver: OtlpReceiver, sent: _Sent) -> None:
    receiver.wait_for(
        lambda spans: len([s for s in spans if s.trace_id == sent.trace_id]) == 2,
        timeout_s=EXPORT_TIMEOUT_S,
        description=f"both spans of trace {sent.trace_id}",
    )
    tree = receiver.tree(sent.trace_id)
    by_name = {span.name: span for span in receiver.trace(sent.trace_id)}
    parent, child = by_name["handle-request"], by_name["call-backend"]

    assert parent.span_id == sent.parent_id, tree
    assert parent.parent_span_id is None, tree
    assert parent.kind == "SPAN_KIND_SERVER"
    assert child.span_id == sent.child_id, tree
    assert child.parent_span_id == parent.span_id, tree
    assert receiver.children(parent) == [child], tree
    assert child.kind == "SPAN_KIND_CLIENT"
    assert child.attributes == {
        "model": "tiny",
        "tokens": 42,
        "temperature": 0.5,
        "streamed": True,
        "stops": ["\n", "END"],
    }
    assert child.events == (("first-token", {"ttft_ms": 12}),)
    assert (child.status_code, child.status_message) == ("STATUS_CODE_ERROR", "backend unavailable")
    assert parent.status_code == "STATUS_CODE_UNSET"
    for span in (parent, child):
        assert len(span.trace_id) == 32 and len(span.span_id) == 16
        assert span.resource["service.name"] == "test-svc"
        assert span.resource["telemetry.sdk.language"] == "python"
        assert 0 < span.start_ns <= span.end_ns
    assert parent.start_ns <= child.start_ns and child.end_ns <= parent.end_ns
    assert tree.splitlines()[1].startswith("  handle-request [SPAN_KIND_SERVER]"), tree
    assert tree.splitlines()[2].startswith("    call-backend [SPAN_KIND_CLIENT]"), tree


def test_grpc_exporter_round_trip(
    receiver: OtlpReceiver, tracer_for: Callable[[SpanExporter], Tracer]
) -> None:
    exporter = GrpcSpanExporter(
        endpoint=receiver.grpc_endpoint, insecure=True, timeout=EXPORT_TIMEOUT_S
    )
    sent = _send_parent_and_child(tracer_for(exporter))

    _assert_received(receiver, sent)


@pytest.mark.parametrize(
    "compression", [Compression.NoCompression, Compression.Gzip], ids=["identity", "gzip"]
)
def test_http_exporter_round_trip(
    receiver: OtlpReceiver,
    tracer_for: Callable[[SpanExporter], Tracer],
    compression: Compression,
) -> None:
    exporter = HttpSpanExporter(
        endpoint=receiver.http_endpoint, timeout=EXPORT_TIMEOUT_S, compression=compression
    )
    sent = _send_parent_and_child(tracer_for(exporter))

    _assert_received(receiver, sent)


def test_wait_for_times_out_naming_what_arrived(
    receiver: OtlpReceiver, tracer_for: Callable[[SpanExporter], Tracer]
) -> None:
    exporter = HttpSpanExporter(endpoint=receiver.http_endpoint, timeout=EXPORT_TIMEOUT_S)
    sent = _send_parent_and_child(tracer_for(exporter))
    receiver.wait_for(lambda spans: len(spans) == 2, timeout_s=EXPORT_TIMEOUT_S)

    started = time.monotonic()
    with pytest.raises(AssertionError) as raised:
        receiver.wait_for(
            lambda spans: any(span.name == "never-sent" for span in spans),
            timeout_s=0.2,
            description="a never-sent span",
        )

    assert 0.2 <= time.monotonic() - started < 1.0
    message = str(raised.value)
    assert "timed out after 0.2s waiting for a never-sent span" in message
    assert f"trace {sent.trace_id}: call-backend, handle-request" in message


def test_summaries_without_spans_and_with_a_missing_parent(
    receiver: OtlpReceiver, tracer_for: Callable[[SpanExporter], Tracer]
) -> None:
    with pytest.raises(AssertionError, match="no spans received"):
        receiver.wait_for(bool, timeout_s=0.05)
    assert receiver.tree("ab" * 16) == f"trace {'ab' * 16}: no spans received"

    # A parent from another process (as after a traceparent header) is never received here.
    remote_parent = SpanContext(0xAB << 120, 0xEF, is_remote=True, trace_flags=TraceFlags(1))
    tracer = tracer_for(HttpSpanExporter(endpoint=receiver.http_endpoint))
    tracer.start_span("orphan", context=set_span_in_context(NonRecordingSpan(remote_parent))).end()
    (orphan,) = receiver.wait_for(bool, timeout_s=EXPORT_TIMEOUT_S)

    assert orphan.parent_span_id == "00000000000000ef"
    assert "orphan [SPAN_KIND_INTERNAL]" in receiver.tree(orphan.trace_id.upper())
    assert "(parent 00000000000000ef not received)" in receiver.tree(orphan.trace_id)
    receiver.clear()
    assert receiver.spans() == []


@pytest.mark.parametrize(
    ("path", "content_type", "status"),
    [("/v1/traces", "application/json", 415), ("/v1/metrics", "application/x-protobuf", 404)],
)
def test_http_rejects_what_it_does_not_serve(
    receiver: OtlpReceiver, path: str, content_type: str, status: int
) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{receiver.http_port}{path}",
        data=b"{}",
        headers={"Content-Type": content_type},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=EXPORT_TIMEOUT_S)
    raised.value.close()  # The error holds the open response.

    assert raised.value.code == status
    assert receiver.spans() == []
