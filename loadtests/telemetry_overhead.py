"""What telemetry costs the router per request, engine excluded.

    .venv/bin/python loadtests/telemetry_overhead.py [--requests 3000] [--chunks 32]

Drives the router core (routing, usage and finish-reason reading, the request span, the
route and model-call spans, one metrics record) with an in-process backend that answers
at once with vLLM-shaped stream chunks, so only the router's own work is timed. Three
runs: tracing off (OpenTelemetry's no-op tracer, as with ``exporter: none``), tracing on
with every span recorded and batched to an exporter that drops them (the OTLP exporter's
cost is off the request path, in its own thread), and the same with 16 streams at once.
No guardrail policy runs (``loadtests/micro/test_guardrail_pipeline.py`` times those).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from timing import report

from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.requests import ChatCompletionRequest, Endpoint, OpenAIRequest
from services.router.types import RoutingHints
from services.telemetry.metrics import NoMetrics, RequestRecord

HINTS = RoutingHints(model="tiny")


class InstantBackend:
    """A model that streams ``chunks`` deltas and the closing usage chunk at once."""

    def __init__(self, chunks: int) -> None:
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "tiny"}
        delta = {
            **base,
            "choices": [{"index": 0, "delta": {"content": "tok"}, "finish_reason": None}],
        }
        last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
        usage = {
            **base,
            "choices": [],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": chunks,
                "total_tokens": 12 + chunks,
            },
        }
        self._items = [f"data: {json.dumps(delta)}\n\n"] * chunks + [
            f"data: {json.dumps(last)}\n\n",
            f"data: {json.dumps(usage)}\n\n",
            "data: [DONE]\n\n",
        ]

    async def call(
        self, model: str, endpoint: Endpoint, request: OpenAIRequest
    ) -> AsyncGenerator[Any, None]:
        for item in self._items:
            yield item


class CountingMetrics(NoMetrics):
    """Stands in for Ray's metrics (a Ray worker is needed for those): keeps the records."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def request(self, record: RequestRecord) -> None:
        self.records.append(record)


class DroppingExporter(SpanExporter):
    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


async def one_request(router: Router) -> float:
    request = ChatCompletionRequest(
        model="tiny", messages=[{"role": "user", "content": "hi"}], stream=True, max_tokens=32
    )
    started = time.perf_counter()
    stream = await router.generate_stream(request, HINTS)
    async for _ in stream.chunks:
        pass
    return (time.perf_counter() - started) * 1000


async def timed(router: Router, requests: int, concurrency: int) -> list[float]:
    timings: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            timings.append(await one_request(router))

    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--chunks", type=int, default=32)
    args = parser.parse_args()
    catalog = ModelCatalog([ServedModel("tiny", "zoo:tiny")])

    def router() -> Router:
        return Router(catalog, InstantBackend(args.chunks), metrics=CountingMetrics())

    asyncio.run(timed(router(), 200, 1))  # warm-up (imports, first-call caches)
    off = asyncio.run(timed(router(), args.requests, 1))
    exporter = DroppingExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=1 << 16))
    trace.set_tracer_provider(provider)
    on = asyncio.run(timed(router(), args.requests, 1))
    on_16 = asyncio.run(timed(router(), args.requests, 16))
    provider.shutdown()
    spans_per_request = exporter.spans / (2 * args.requests)
    print(f"router core, one streamed request of {args.chunks} chunks, engine excluded:")
    report("tracing off (exporter: none)", off, digits=3)
    report(
        "tracing on, every span recorded", on, f"{spans_per_request:.1f} spans/request", digits=3
    )
    report("tracing on, 16 streams at once (per request)", on_16, digits=3)


if __name__ == "__main__":
    main()
