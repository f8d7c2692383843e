"""The transport-free request path: route, validate, call the model.

HTTP and gRPC adapters both go through ``Router``; routing policies, guardrails
and telemetry hook in here, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from services.errors import DeadlineExceededError, ServerError
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
        self, catalog: ModelCatalog, backend: ModelBackend, *, timeout_s: float = 600
    ) -> None:
        self.catalog = catalog
        self._backend = backend
        self._timeout_s = timeout_s

    def route(self, hints: RoutingHints) -> RouteDecision:
        """Pick the model for a request (by name for now)."""
        model = self.catalog.get(hints.model)
        return RouteDecision(model=model.name)

    def _prepare(
        self, request: OpenAIRequest, hints: RoutingHints
    ) -> tuple[RouteDecision, OpenAIRequest]:
        decision = self.route(hints)
        validate_sampling(request, self.catalog.get(decision.model).max_model_len)
        return decision, request.model_copy(update={"model": decision.model})

    async def _open(
        self, decision: RouteDecision, request: OpenAIRequest
    ) -> tuple[Any, AsyncGenerator[Any, None]]:
        """Start the model call and wait for its first item, raising what it reports."""
        items = self._backend.call(decision.model, endpoint_of(request), request)
        try:
            first = await anext(items)
        except StopAsyncIteration:
            raise ServerError(f"model '{decision.model}' returned nothing") from None
        head = first[0] if isinstance(first, list) and first else first
        if isinstance(head, ErrorResponse):
            await items.aclose()
            raise from_engine_error(
                head,
                model=decision.model,
                input_field=input_field(request),
                served=self.catalog.names,
            )
        return first, items

    async def generate(self, request: OpenAIRequest, hints: RoutingHints) -> RoutedResponse:
        decision, request = self._prepare(request, hints)
        request = request.model_copy(update={"stream": False})
        try:
            async with asyncio.timeout(self._timeout_s):
                first, items = await self._open(decision, request)
                async with aclosing(items):
                    async for _ in items:  # a unary call yields one item; let it finish
                        pass
        except TimeoutError:
            raise DeadlineExceededError(
                f"no answer within the router's {self._timeout_s:g} s timeout"
            ) from None
        return RoutedResponse(decision=decision, body=first)

    async def generate_stream(self, request: OpenAIRequest, hints: RoutingHints) -> RoutedStream:
        decision, request = self._prepare(request, hints)
        request = request.model_copy(update={"stream": True})
        first, items = await self._open(decision, request)
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
