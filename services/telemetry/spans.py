"""The spans of the router's steps: the routing decision, each model call, each guardrail
check. Each is a child of the current span (the request's), and a no-op while tracing is
off."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import Span, SpanKind, StatusCode

from services.telemetry.request import (
    FIRST_TOKEN_EVENT,
    OPERATIONS,
    ROUTE_ATTRIBUTE,
    VARIANT_ATTRIBUTE,
    describe_error,
    error_status,
)
from services.telemetry.tracing import tracer


class _Decision(Protocol):
    model: str
    route: str
    variant: str
    reason: str


class RouteSpan:
    def __init__(self, span: Span) -> None:
        self.span = span

    def describe(self, decision: _Decision, fallbacks: Sequence[str]) -> None:
        self.span.set_attributes(
            {
                gen_ai.GEN_AI_RESPONSE_MODEL: decision.model,
                ROUTE_ATTRIBUTE: decision.route,
                VARIANT_ATTRIBUTE: decision.variant,
                "llm_fleet.reason": decision.reason,
                "llm_fleet.fallbacks": list(fallbacks),
            }
        )


@contextmanager
def route_span(requested: str) -> Iterator[RouteSpan]:
    """The routing decision: which model and arm, and why."""
    with tracer().start_as_current_span(
        "llm_fleet.route", attributes={gen_ai.GEN_AI_REQUEST_MODEL: requested}
    ) as span:
        yield RouteSpan(span)


class ModelCallSpan:
    """One call to one model (a fallback is another call, with its own span)."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def first_item(self) -> None:
        self.span.add_event(FIRST_TOKEN_EVENT)

    def fail(self, error: BaseException) -> None:
        status = error_status(error)
        if status != "cancelled":
            self.span.set_status(StatusCode.ERROR, describe_error(error))
            self.span.set_attribute(error_attributes.ERROR_TYPE, status)

    def end(self) -> None:
        self.span.end()


@contextmanager
def model_call_span(model: str, endpoint: str) -> Iterator[ModelCallSpan]:
    """A GenAI client span, current while the call starts. Ended here if the call fails
    before its first item; else by ``traced_items`` when its last item has passed."""
    operation = OPERATIONS[endpoint]
    span = tracer().start_span(
        f"{operation} {model}",
        kind=SpanKind.CLIENT,
        attributes={
            gen_ai.GEN_AI_OPERATION_NAME: operation,
            gen_ai.GEN_AI_PROVIDER_NAME: "vllm",
            gen_ai.GEN_AI_REQUEST_MODEL: model,
        },
    )
    call = ModelCallSpan(span)
    with trace.use_span(span, end_on_exit=False, record_exception=False):
        try:
            yield call
        except BaseException as error:
            call.fail(error)
            call.end()
            raise


class TracedItems(AsyncGenerator[Any, None]):
    """A model call's remaining items, ending its span after the last one, a failure, or
    a close. A class, not a generator function: a generator closed before it ever ran
    would skip its ``finally`` and leave both the call and the span open."""

    def __init__(self, items: AsyncGenerator[Any, None], call: ModelCallSpan) -> None:
        self._items = items
        self._call = call
        self._ended = False

    async def asend(self, value: None) -> Any:
        try:
            return await self._items.asend(value)
        except StopAsyncIteration:
            self._end()
            raise
        except BaseException as error:
            self._call.fail(error)
            self._end()
            raise

    async def athrow(self, *args: Any) -> Any:
        return await self._items.athrow(*args)

    async def aclose(self) -> None:
        try:
            await self._items.aclose()
        finally:
            self._end()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._call.end()


@contextmanager
def check_span(check: str, direction: str, action: str) -> Iterator[Span]:
    """One guardrail check over one whole text (a prompt, an unstreamed completion)."""
    with tracer().start_as_current_span(
        f"llm_fleet.guardrail {check}",
        attributes={
            "llm_fleet.guardrail.check": check,
            "llm_fleet.guardrail.direction": direction,
            "llm_fleet.guardrail.action": action,
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span
