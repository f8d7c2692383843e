"""The transport-free request path: route, validate, call the model.

HTTP and gRPC adapters both go through ``Router``; routing policies, guardrails
and telemetry hook in here, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any

from services.errors import DeadlineExceededError, ModelNotFoundError, ServerError
from services.router.backend import ModelBackend
from services.router.catalog import ModelCatalog
from services.router.engine_errors import from_engine_error
from services.router.requests import (
    ErrorResponse,
    OpenAIRequest,
    OpenAIResponse,
    endpoint_of,
    input_field,
)
from services.router.types import RouteDecision, RoutingHints
from services.router.validation import validate_sampling
from services.routing.table import RouteChoice, RoutingTable


@dataclass(frozen=True)
class RoutedResponse:
    decision: RouteDecision
    body: OpenAIResponse


@dataclass(frozen=True)
class RoutedStream:
    """A stream whose first chunk has arrived, so its status is already known.

    ``chunks`` are server-sent-event strings (``data: {...}\\n\\n``), ending with
    ``data: [DONE]``.
    """

    decision: RouteDecision
    chunks: AsyncGenerator[str, None]


class Router:
    def __init__(
        self,
        catalog: ModelCatalog,
        backend: ModelBackend,
        *,
        routing: RoutingTable | None = None,
        timeout_s: float = 600,
    ) -> None:
        self.catalog = catalog
        self.routing = routing or RoutingTable()
        self._backend = backend
        self._timeout_s = timeout_s

    def reconfigure(self, catalog: ModelCatalog, routing: RoutingTable) -> None:
        """Swap the served models and the routing table; requests already routed keep
        their choice."""
        self.catalog = catalog
        self.routing = routing

    def route(self, hints: RoutingHints) -> RouteChoice:
        """Pick the model for a request: by route (alias) or by the served model's name."""
        choice = self.routing.choose(hints)
        if choice is not None:
            return choice
        if hints.model not in self.catalog:
            raise ModelNotFoundError(hints.model, self.catalog.names + self.routing.aliases)
        return RouteChoice(decision=RouteDecision(model=hints.model))

    def _candidates(self, choice: RouteChoice) -> list[str]:
        ordered = dict.fromkeys([choice.decision.model, *choice.fallbacks])
        return list(ordered)[: self.routing.max_attempts]

    async def _open(
        self, choice: RouteChoice, request: OpenAIRequest
    ) -> tuple[RouteDecision, Any, AsyncGenerator[Any, None]]:
        """Start the model call, falling back down the chain while a model fails before its
        first item; raise what the last one reported."""
        failures: list[str] = []
        candidates = self._candidates(choice)
        for model in candidates:
            validate_sampling(request, self.catalog.get(model).max_model_len)
            try:
                first, items = await self._open_model(model, request)
            except ServerError as error:  # overload and unavailability included
                failures.append(f"{model} ({type(error).__name__})")
                if model == candidates[-1]:
                    raise
                continue
            decision = choice.decision
            if failures:
                decision = replace(
                    decision, model=model, reason=f"fallback after {', '.join(failures)}"
                )
            return decision, first, items
        raise AssertionError("unreachable: the candidate list is never empty")

    async def _open_model(
        self, model: str, request: OpenAIRequest
    ) -> tuple[Any, AsyncGenerator[Any, None]]:
        """Call one model and wait for its first item, raising what it reports."""
        request = request.model_copy(update={"model": model})
        items = self._backend.call(model, endpoint_of(request), request)
        try:
            first = await anext(items)
        except StopAsyncIteration:
            raise ServerError(f"model '{model}' returned nothing") from None
        head = first[0] if isinstance(first, list) and first else first
        if isinstance(head, ErrorResponse):
            await items.aclose()
            raise from_engine_error(
                head, model=model, input_field=input_field(request), served=self.catalog.names
            )
        return first, items

    async def generate(self, request: OpenAIRequest, hints: RoutingHints) -> RoutedResponse:
        choice = self.route(hints)
        request = request.model_copy(update={"stream": False})
        try:
            async with asyncio.timeout(self._timeout_s):
                decision, first, items = await self._open(choice, request)
                async with aclosing(items):
                    async for _ in items:  # a unary call yields one item; let it finish
                        pass
        except TimeoutError:
            raise DeadlineExceededError(
                f"no answer within the router's {self._timeout_s:g} s timeout"
            ) from None
        return RoutedResponse(decision=decision, body=first)

    async def generate_stream(self, request: OpenAIRequest, hints: RoutingHints) -> RoutedStream:
        choice = self.route(hints)
        request = request.model_copy(update={"stream": True})
        decision, first, items = await self._open(choice, request)
        return RoutedStream(decision=decision, chunks=_as_sse(first, items))


async def _as_sse(first: Any, rest: AsyncGenerator[Any, None]) -> AsyncGenerator[str, None]:
    """Flatten Ray Serve LLM's stream (strings, or lists of strings when it
    coalesces chunks) into SSE strings, closing with ``data: [DONE]``."""
    done = False
    try:
        item = first
        while True:
            text = "".join(item) if isinstance(item, list) else str(item)
            done = done or text.rstrip().endswith("data: [DONE]")
            yield text
            try:
                item = await anext(rest)
            except StopAsyncIteration:
                break
    finally:
        await rest.aclose()
    if not done:
        yield "data: [DONE]\n\n"
