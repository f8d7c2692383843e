"""Spans as an OTLP export carries them, decoded into plain values tests can assert on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

__all__ = ["ReceivedSpan", "decode_any_value", "decode_attributes", "decode_request"]


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as it arrived, with the protobuf's ids and enums turned into readable values.

    Ids are lowercase hex (as in logs and the W3C ``traceparent`` header) so they can be compared
    with what the code under test prints; enums keep their proto names (``SPAN_KIND_SERVER``,
    ``STATUS_CODE_ERROR``) so a failing assertion reads the same as the spec.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    attributes: dict[str, object] = field(default_factory=dict)
    events: tuple[tuple[str, dict[str, object]], ...] = ()
    status_code: str = "STATUS_CODE_UNSET"
    status_message: str = ""
    resource: dict[str, object] = field(default_factory=dict)
    start_ns: int = 0
    end_ns: int = 0

    @property
    def duration_ns(self) -> int:
        """Time between start and end, for tests that check a span covered some work."""
        return self.end_ns - self.start_ns

    @property
    def event_names(self) -> list[str]:
        """The events' names in order, the usual thing to assert on."""
        return [name for name, _ in self.events]


def decode_any_value(value: common_pb2.AnyValue) -> object:
    """Turns an OTLP ``AnyValue`` into the Python value the SDK was given.

    Arrays become lists and key-value lists dicts, so tests can compare with literals; an unset
    value (the SDK never sends one, but the proto allows it) becomes ``None``.
    """
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [decode_any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return decode_attributes(value.kvlist_value.values)
    return getattr(value, kind)


def decode_attributes(key_values: Iterable[common_pb2.KeyValue]) -> dict[str, object]:
    """Turns repeated ``KeyValue`` (span, event or resource attributes) into a dict."""
    return {kv.key: decode_any_value(kv.value) for kv in key_values}


def decode_request(request: trace_service_pb2.ExportTraceServiceRequest) -> list[ReceivedSpan]:
    """Flattens the resource -> scope -> span nesting, copying each resource onto its spans."""
    received: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = decode_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                received.append(
                    ReceivedSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        kind=trace_pb2.Span.SpanKind.Name(span.kind),
                        attributes=decode_attributes(span.attributes),
                        events=tuple(
                            (event.name, decode_attributes(event.attributes))
                            for event in span.events
                        ),
                        status_code=trace_pb2.Status.StatusCode.Name(span.status.code),
                        status_message=span.status.message,
                        # Each span gets its own copy so a test mutating one dict cannot
                        # change what the other spans of the export report.
                        resource=dict(resource),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                    )
                )
    return received
