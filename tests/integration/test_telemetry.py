"""Traces, metrics and logs of real requests on the session cluster.

Spans come from every process (Ray's proxy, the router, the embedder, the model replicas)
over OTLP into the session's receiver; metrics from Ray's metrics agent, read with the
Prometheus client's own text parser; logs from the router's worker log files.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
import openai
import ray
from fleet.v1 import fleet_pb2, fleet_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import AB_ROUTE, RunningCluster
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan

MODEL = "tiny-qwen2"
GUARD_CHECKS = {"pii", "secrets", "injection", "topics", "max_prompt_tokens"}


def new_traceparent() -> tuple[str, str, str]:
    """A caller's trace: its id, the caller's span id, and the W3C header value."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def wait_for_trace(
    receiver: OtlpReceiver, trace_id: str, done: Callable[[list[ReceivedSpan]], bool]
) -> dict[str, ReceivedSpan]:
    receiver.wait_for(
        lambda spans: done([span for span in spans if span.trace_id == trace_id]),
        timeout_s=30,
        description=f"the spans of trace {trace_id}",
    )
    return {span.span_id: span for span in receiver.trace(trace_id)}


def ancestors(spans: dict[str, ReceivedSpan], span: ReceivedSpan) -> list[str]:
    """Span ids from ``span``'s parent up to the root (a parent not received included)."""
    chain: list[str] = []
    parent = span.parent_span_id
    while parent is not None:
        chain.append(parent)
        parent = spans[parent].parent_span_id if parent in spans else None
    return chain


def named(spans: dict[str, ReceivedSpan], prefix: str) -> list[ReceivedSpan]:
    return [span for span in spans.values() if span.name.startswith(prefix)]


def has_whole_trace(name: str, caller_span_id: str) -> Callable[[list[ReceivedSpan]], bool]:
    """The spans of every process have arrived (each batches its exports): the router's
    request span, the model replica's, the embedder's, and the proxy's (ended last, after
    the response's last byte)."""
    replicas = ("replica_handle_request model-", "replica_handle_request embedder")

    def done(spans: list[ReceivedSpan]) -> bool:
        names = [span.name for span in spans]
        return (
            name in names
            and all(any(n.startswith(prefix) for n in names) for prefix in replicas)
            and any(span.parent_span_id == caller_span_id for span in spans)
        )

    return done


def check_request_tree(
    spans: dict[str, ReceivedSpan],
    request_span: ReceivedSpan,
    caller_span_id: str,
    receiver: OtlpReceiver,
) -> ReceivedSpan:
    """The shape every request's trace has; returns the model call's span."""
    tree = receiver.tree(request_span.trace_id)
    chain = ancestors(spans, request_span)
    assert chain[-1] == caller_span_id, tree
    proxy = [spans[span_id] for span_id in chain if span_id in spans][-1]
    assert proxy.name.startswith("proxy_"), tree
    assert proxy.kind == "SPAN_KIND_SERVER", tree
    children = {span.name: span for span in receiver.children(request_span)}
    assert "llm_fleet.route" in children, tree
    checks = {name.removeprefix("llm_fleet.guardrail ") for name in children if "guardrail" in name}
    assert checks >= GUARD_CHECKS, tree
    calls = [span for span in children.values() if span.kind == "SPAN_KIND_CLIENT"]
    assert len(calls) == 1, tree
    call = calls[0]
    assert (
        call.attributes["gen_ai.request.model"] == request_span.attributes["gen_ai.response.model"]
    )
    assert "gen_ai.first_token" in call.event_names, tree
    engine_side = named(spans, "replica_handle_request model-")
    assert engine_side and call.span_id in ancestors(spans, engine_side[0]), tree
    embedder_side = named(spans, "replica_handle_request embedder")
    assert embedder_side, tree
    assert any(
        spans[i].name.startswith("llm_fleet.guardrail")
        for i in ancestors(spans, embedder_side[0])
        if i in spans
    ), tree
    return call


def test_an_http_stream_is_one_trace_continuing_the_callers(
    client: openai.OpenAI, otlp_receiver: OtlpReceiver
) -> None:
    trace_id, caller_span, traceparent = new_traceparent()
    marker = f"zebra-{uuid.uuid4().hex[:8]}"
    stream = client.chat.completions.create(
        model=AB_ROUTE.name,
        messages=[{"role": "user", "content": f"tell me about {marker}"}],
        max_tokens=6,
        temperature=0,
        stream=True,
        extra_headers={"traceparent": traceparent},
    )
    chunks = list(stream)
    # The router asks the engine for usage; a caller who did not ask never sees it.
    assert all(chunk.usage is None for chunk in chunks)
    name = f"chat {AB_ROUTE.name}"
    spans = wait_for_trace(otlp_receiver, trace_id, has_whole_trace(name, caller_span))
    request_span = named(spans, name)[0]
    check_request_tree(spans, request_span, caller_span, otlp_receiver)
    attributes = request_span.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["llm_fleet.transport"] == "http"
    assert attributes["llm_fleet.route"] == AB_ROUTE.name
    variants = {variant.name: variant.model for variant in AB_ROUTE.variants}
    assert variants[attributes["llm_fleet.variant"]] == attributes["gen_ai.response.model"]
    assert attributes["gen_ai.usage.output_tokens"] == 6
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == ["length"]
    assert attributes["llm_fleet.status"] == "ok"
    assert "gen_ai.first_token" in request_span.event_names
    # Content stays out of spans unless the config turns it on.
    for span in spans.values():
        assert marker not in json.dumps(span.attributes, default=str), span.name


def test_a_grpc_stream_is_one_trace_continuing_the_callers(
    cluster: RunningCluster, otlp_receiver: OtlpReceiver
) -> None:
    trace_id, caller_span, traceparent = new_traceparent()
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        request = fleet_pb2.GenerateRequest(
            # Unique: a prompt another test sent is answered from the guardrails' embedding
            # cache, and the trace then has no embedder span.
            prompt=f"hello there, {uuid.uuid4().hex[:8]}",
            sampling=fleet_pb2.SamplingParams(max_tokens=5),
            routing=fleet_pb2.RoutingHints(model=MODEL),
            request_id=f"telemetry-{uuid.uuid4()}",
        )
        events = list(
            stub.GenerateStream(
                request, metadata=[("traceparent", traceparent), *cluster.metadata()], timeout=60
            )
        )
    assert events[-1].end.usage.completion_tokens == 5
    name = f"text_completion {MODEL}"
    spans = wait_for_trace(otlp_receiver, trace_id, has_whole_trace(name, caller_span))
    request_span = named(spans, name)[0]
    call = check_request_tree(spans, request_span, caller_span, otlp_receiver)
    assert call.name == f"text_completion {MODEL}"
    attributes = request_span.attributes
    assert attributes["llm_fleet.transport"] == "grpc"
    assert attributes["llm_fleet.request_id"] == request.request_id
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert "gen_ai.first_token" in request_span.event_names
    assert request_span.resource["service.name"] == "llm-fleet"


def test_a_refused_request_ends_its_span_with_the_error(
    client: openai.OpenAI, otlp_receiver: OtlpReceiver
) -> None:
    trace_id, _, traceparent = new_traceparent()
    with contextlib.suppress(openai.NotFoundError):
        client.completions.create(
            model="no-such-model",
            prompt="x",
            max_tokens=2,
            extra_headers={"traceparent": traceparent},
        )
    name = "text_completion no-such-model"
    spans = wait_for_trace(otlp_receiver, trace_id, lambda got: any(s.name == name for s in got))
    span = named(spans, name)[0]
    assert span.status_code == "STATUS_CODE_ERROR"
    assert span.attributes["error.type"] == "model_not_found"


# -- metrics --------------------------------------------------------------------------


def scrape(cluster: RunningCluster) -> dict[str, list]:
    text = httpx.get(cluster.endpoints.metrics, timeout=10).text
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def settled_scrape(cluster: RunningCluster) -> dict[str, list]:
    """A scrape once earlier tests' requests have all been reported (workers push every
    second here): two scrapes in a row that agree."""

    def ours(families: dict[str, list]) -> dict[str, list]:
        return {name: samples for name, samples in families.items() if "llm_fleet" in name}

    previous = scrape(cluster)
    for _ in range(20):
        time.sleep(1.5)
        current = scrape(cluster)
        if ours(current) == ours(previous):
            return current
        previous = current
    raise AssertionError("the metrics never settled")


def metric(families: dict[str, list], sample: str, **labels: str) -> float:
    """The sum of ``sample`` over the series whose labels include ``labels`` (Ray keeps one
    series per worker process)."""
    family = sample.removesuffix("_total").removesuffix("_count").removesuffix("_sum")
    return sum(
        s.value
        for s in families.get(family, [])
        if s.name == sample and labels.items() <= s.labels.items()
    )


def wait_for_metric(
    cluster: RunningCluster, sample: str, expected: float, timeout_s: float = 30, **labels: str
) -> dict[str, list]:
    deadline = time.monotonic() + timeout_s
    while True:
        families = scrape(cluster)
        value = metric(families, sample, **labels)
        if value >= expected or time.monotonic() > deadline:
            assert value == expected, f"{sample}{labels}: {value}, expected {expected}"
            return families
        time.sleep(0.5)


def test_metrics_count_the_requests_made(cluster: RunningCluster, client: openai.OpenAI) -> None:
    arm = {"model": MODEL, "transport": "http"}
    ok = {**arm, "status": "ok", "endpoint": "completions"}
    before = settled_scrape(cluster)
    requests_before = metric(before, "ray_llm_fleet_requests_total", **ok)
    output_before = metric(before, "ray_llm_fleet_output_tokens_total", **arm)
    ttft_before = metric(before, "ray_llm_fleet_time_to_first_token_seconds_count", **arm)
    unknown = f"no-such-model-{uuid.uuid4().hex[:6]}"
    missing = {"status": "model_not_found"}
    missing_before = metric(before, "ray_llm_fleet_requests_total", **missing)

    output_tokens = 0
    for stream in (False, True, True):
        if stream:
            chunks = list(
                client.completions.create(model=MODEL, prompt="count", max_tokens=4, stream=True)
            )
            output_tokens += 4
            assert chunks
        else:
            output_tokens += client.completions.create(
                model=MODEL, prompt="count", max_tokens=3
            ).usage.completion_tokens
    with contextlib.suppress(openai.NotFoundError):
        client.completions.create(model=unknown, prompt="x", max_tokens=2)

    after = wait_for_metric(cluster, "ray_llm_fleet_requests_total", requests_before + 3, **ok)
    assert (
        metric(after, "ray_llm_fleet_output_tokens_total", **arm) == output_before + output_tokens
    )
    assert (
        metric(after, "ray_llm_fleet_time_to_first_token_seconds_count", **arm) == ttft_before + 2
    )
    after = wait_for_metric(cluster, "ray_llm_fleet_requests_total", missing_before + 1, **missing)
    # A name a caller invents is no label value (the series would grow without bound).
    assert metric(after, "ray_llm_fleet_requests_total", model=unknown) == 0
    # The same endpoint carries Ray Serve's and the engines' own metrics.
    assert "ray_serve_num_http_requests" in after


def test_guardrail_decisions_are_counted_by_check_and_action(
    cluster: RunningCluster, client: openai.OpenAI
) -> None:
    labels = {"check": "pii", "action": "redact", "direction": "input", "category": "EMAIL"}
    before = metric(settled_scrape(cluster), "ray_llm_fleet_guardrail_decisions_total", **labels)
    client.completions.create(model=MODEL, prompt="write to jane.doe@example.com", max_tokens=2)
    wait_for_metric(cluster, "ray_llm_fleet_guardrail_decisions_total", before + 1, **labels)


# -- logs ---------------------------------------------------------------------------


def test_the_router_logs_json_lines_with_the_trace_id(client: openai.OpenAI) -> None:
    trace_id, _, traceparent = new_traceparent()
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    # The redaction of the address is logged, whatever else the guard decides.
    with contextlib.suppress(openai.BadRequestError):
        client.completions.create(
            model=MODEL,
            prompt=f"Please send the invoice to {email} today.",
            max_tokens=2,
            extra_headers={"traceparent": traceparent},
        )
    logs = Path(ray._private.worker._global_node.get_logs_dir_path())
    deadline = time.monotonic() + 15
    lines: list[dict] = []
    while not lines and time.monotonic() < deadline:
        for path in logs.glob("worker-*.err"):
            for line in path.read_text(errors="replace").splitlines():
                if trace_id in line:
                    lines.append(json.loads(line))
        time.sleep(0.5)
    assert lines, f"no log line carries trace id {trace_id}"
    audit = [line for line in lines if line["logger"] == "llm_fleet.guardrails.audit"]
    assert "redact" in {line["guardrail"]["action"] for line in audit}, audit
    # One request id everywhere: the guard's event names the line's own (Ray Serve's).
    assert {line["guardrail"]["request_id"] for line in audit} == {audit[0]["request_id"]}
    assert all(line["request_id"] for line in lines)
    assert all(email not in json.dumps(line) for line in lines)
