"""One request's telemetry, from arrival at the router to the last byte of its answer:
its span (OpenTelemetry GenAI attributes, time to first token as an event) and its metrics.

The span's children (the routing decision, each guardrail check, each model call) attach
to it through the current context while it is active.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import Span, SpanKind, StatusCode

from services.errors import FleetError
from services.streaming import ClosesUnstarted
from services.telemetry.metrics import Metrics, RequestRecord
from services.telemetry.tracing import captures_content, tracer

FIRST_TOKEN_EVENT = "gen_ai.first_token"
ROUTE_ATTRIBUTE = "llm_fleet.route"
VARIANT_ATTRIBUTE = "llm_fleet.variant"
TENANT_ATTRIBUTE = "llm_fleet.tenant"
KEY_ID_ATTRIBUTE = "llm_fleet.key_id"
REQUESTED_GUARD_POLICIES_ATTRIBUTE = "llm_fleet.guardrails.requested_policies"
OPERATIONS = {"chat": "chat", "completions": "text_completion"}


def error_status(error: BaseException | None) -> str:
    """The ``status`` label of a finished request: ``ok``, ``cancelled`` or the OpenAI
    error type of what failed it."""
    if error is None:
        return "ok"
    if isinstance(error, FleetError):
        return error.openai_type
    if isinstance(error, (GeneratorExit, asyncio.CancelledError)):
        return "cancelled"
    return "internal_error"


def request_attributes(request: Any, endpoint: str) -> dict[str, Any]:
    """GenAI request attributes of an OpenAI request (None values are left out)."""
    stop = getattr(request, "stop", None)
    attributes = {
        gen_ai.GEN_AI_OPERATION_NAME: OPERATIONS[endpoint],
        gen_ai.GEN_AI_PROVIDER_NAME: "vllm",
        gen_ai.GEN_AI_REQUEST_MODEL: request.model,
        gen_ai.GEN_AI_REQUEST_MAX_TOKENS: _max_tokens(request),
        gen_ai.GEN_AI_REQUEST_TEMPERATURE: getattr(request, "temperature", None),
        gen_ai.GEN_AI_REQUEST_TOP_P: getattr(request, "top_p", None),
        gen_ai.GEN_AI_REQUEST_SEED: getattr(request, "seed", None),
        gen_ai.GEN_AI_REQUEST_STREAM: bool(getattr(request, "stream", False)),
        gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES: [stop] if isinstance(stop, str) else stop or None,
        "llm_fleet.request_id": caller_request_id(request),
    }
    return {key: value for key, value in attributes.items() if value is not None}


def caller_request_id(request: Any) -> str | None:
    """The id the caller gave (gRPC's ``request_id``); the request model invents one
    otherwise, which nothing else knows."""
    if "request_id" in request.model_fields_set:
        return vars(request).get("request_id")
    return None


def usage_attributes(usage: Mapping[str, Any] | None) -> dict[str, int]:
    if not usage:
        return {}
    return {
        gen_ai.GEN_AI_USAGE_INPUT_TOKENS: int(usage.get("prompt_tokens") or 0),
        gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: int(usage.get("completion_tokens") or 0),
    }


class RequestTelemetry:
    """Created when a request arrives; ``finish`` ends its span and records its metrics once."""

    def __init__(
        self,
        metrics: Metrics,
        request: Any,
        *,
        transport: str,
        endpoint: str,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._metrics = metrics
        self._clock = clock
        self._started = clock()
        self._transport = transport
        self._endpoint = endpoint
        # The metrics' model label: set once routed, so names callers invent (unknown
        # models) never become series of their own.
        self._model = ""
        self._route = ""
        self._variant = ""
        self._first_token_s: float | None = None
        self._usage: Mapping[str, Any] | None = None
        self._finished = False
        self.span: Span = tracer().start_span(
            f"{OPERATIONS[endpoint]} {request.model}",
            kind=SpanKind.INTERNAL,
            attributes={**request_attributes(request, endpoint), "llm_fleet.transport": transport},
        )
        if captures_content() and self.span.is_recording():
            self.span.set_attribute(gen_ai.GEN_AI_INPUT_MESSAGES, _input_content(request))

    @contextmanager
    def active(self) -> Iterator[Span]:
        """Make the request's span the current one (children attach to it); a failure
        inside finishes the request with it."""
        token = otel_context.attach(trace.set_span_in_context(self.span))
        try:
            yield self.span
        except BaseException as error:
            self.finish(error)
            raise
        finally:
            otel_context.detach(token)

    def identified(self, tenant: str | None, key_id: str | None) -> None:
        """Who the request is from: the authenticated tenant and the (public) key id."""
        attributes = {TENANT_ATTRIBUTE: tenant, KEY_ID_ATTRIBUTE: key_id}
        self.span.set_attributes({k: v for k, v in attributes.items() if v is not None})

    def guard_policies_requested(self, names: Sequence[str]) -> None:
        """The guard policies the request asked for (set before they are authorized, so a
        refused request's span shows what it asked)."""
        if names:
            self.span.set_attribute(REQUESTED_GUARD_POLICIES_ATTRIBUTE, list(names))

    def routed(self, model: str, route: str, variant: str) -> None:
        """The model that serves the request (called again after a fallback)."""
        self._model, self._route, self._variant = model, route, variant
        self.span.set_attributes(
            {
                gen_ai.GEN_AI_RESPONSE_MODEL: model,
                ROUTE_ATTRIBUTE: route,
                VARIANT_ATTRIBUTE: variant,
            }
        )

    def first_token(self) -> None:
        if self._first_token_s is not None:
            return
        self._first_token_s = self._clock() - self._started
        self.span.add_event(
            FIRST_TOKEN_EVENT,
            {gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: self._first_token_s},
        )

    def answered(
        self,
        *,
        usage: Mapping[str, Any] | None,
        finish_reasons: Sequence[str],
        response_id: str | None = None,
        content: Callable[[], str] | None = None,
    ) -> None:
        """What the model reported about its answer."""
        self._usage = usage
        attributes: dict[str, Any] = {**usage_attributes(usage)}
        if finish_reasons:
            attributes[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = list(finish_reasons)
        if response_id:
            attributes[gen_ai.GEN_AI_RESPONSE_ID] = response_id
        if content is not None and captures_content() and self.span.is_recording():
            attributes[gen_ai.GEN_AI_OUTPUT_MESSAGES] = content()
        self.span.set_attributes(attributes)

    def finish(self, error: BaseException | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        status = error_status(error)
        if error is not None and status != "cancelled":
            self.span.set_status(StatusCode.ERROR, describe_error(error))
            self.span.set_attribute(error_attributes.ERROR_TYPE, status)
            if not isinstance(error, FleetError):
                self.span.record_exception(error)
        self.span.set_attribute("llm_fleet.status", status)
        self.span.end()
        usage = self._usage or {}
        self._metrics.request(
            RequestRecord(
                transport=self._transport,
                endpoint=self._endpoint,
                model=self._model,
                route=self._route,
                variant=self._variant,
                status=status,
                duration_s=self._clock() - self._started,
                ttft_s=self._first_token_s,
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
            )
        )

    def observe(self, chunks: AsyncGenerator[str, None], facts: Any) -> AsyncGenerator[str, None]:
        """The stream as sent to the caller, timed: its first chunk is the first token, its
        end (or failure, or the caller leaving, even before it began) finishes the request.
        ``facts`` is the stream's ``StreamFacts`` (usage and finish reasons read as chunks
        passed)."""

        async def closed_before_start() -> None:
            try:
                await chunks.aclose()
            finally:
                self._stream_ended(facts, GeneratorExit())

        return ClosesUnstarted(self._observe(chunks, facts), closed_before_start)

    async def _observe(
        self, chunks: AsyncGenerator[str, None], facts: Any
    ) -> AsyncGenerator[str, None]:
        error: BaseException | None = None
        delivered = False
        try:
            async for chunk in chunks:
                self.first_token()
                delivered = chunk.rstrip().endswith("data: [DONE]")
                yield chunk
        except BaseException as failure:
            # A caller that hangs up once it has read [DONE] got the whole answer: the
            # server may only notice while asking this stream for the end it already had.
            error = (
                None
                if delivered and isinstance(failure, GeneratorExit | asyncio.CancelledError)
                else failure
            )
            raise
        finally:
            try:
                await chunks.aclose()
            finally:
                self._stream_ended(facts, error)

    def _stream_ended(self, facts: Any, error: BaseException | None) -> None:
        self.answered(
            usage=facts.usage,
            finish_reasons=facts.finish_reasons,
            response_id=facts.response_id,
            content=facts.text if facts.keeps_text else None,
        )
        self.finish(error)


def describe_error(error: BaseException) -> str:
    """A span status description: our errors' messages are written for callers; anything
    else is named by its type only (its message may quote the request)."""
    return error.message if isinstance(error, FleetError) else type(error).__name__


def _input_content(request: Any) -> str:
    messages = getattr(request, "messages", None)
    if messages is not None:
        return json.dumps(messages, default=str)
    return json.dumps(getattr(request, "prompt", ""), default=str)


def _max_tokens(request: Any) -> int | None:
    fields = request.model_fields_set
    # Read only the field the caller set: reading the deprecated one warns.
    for name in ("max_completion_tokens", "max_tokens"):
        if name in fields:
            return vars(request).get(name)
    return None
