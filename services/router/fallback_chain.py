"""Opening a model call down a route's chain: the chosen model, then its fallbacks.

A model is skipped while it is unavailable or its circuit is open; a replica lost before it
answered is retried on the same model; a model that fails before its first item hands the
request to the next one. Nothing here knows about guards, tenants or transports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

from services.errors import (
    OverloadedError,
    ReplicaLostError,
    RequestFailedError,
    RetryableError,
    ServerError,
)
from services.router.availability import ModelAvailability
from services.router.backend import ModelBackend
from services.router.breaker import CircuitBreakers
from services.router.catalog import ModelCatalog
from services.router.engine_errors import from_engine_error, split_at_error
from services.router.requests import ErrorResponse, OpenAIRequest, endpoint_of, input_field
from services.router.stats import RoutingStats
from services.router.types import RouteDecision
from services.router.validation import validate_sampling
from services.routing.config import RoutingConfig
from services.routing.table import RouteChoice
from services.telemetry.spans import TracedItems, model_call_span

logger = logging.getLogger(__name__)
# Between a lost replica and the retry: long enough for Serve's long-poll to bring news of a
# replacement, short against an engine's start.
REPLICA_RETRY_BACKOFF_S = 0.25

Opened = tuple[RouteDecision, Any, AsyncGenerator[Any, None]]
"""Who answers, the first item, and the call's items (the first included)."""


class FallbackChain:
    def __init__(
        self,
        backend: ModelBackend,
        availability: ModelAvailability,
        breakers: CircuitBreakers,
        stats: RoutingStats,
    ) -> None:
        self._backend = backend
        self._availability = availability
        self._breakers = breakers
        self._stats = stats

    async def open(
        self,
        choice: RouteChoice,
        request: OpenAIRequest,
        catalog: ModelCatalog,
        config: RoutingConfig,
    ) -> Opened:
        """Start the model call, falling back down the chain while a model fails before its
        first item or its circuit is open; raise what the last one tried reported."""
        candidates = list(dict.fromkeys([choice.decision.model, *choice.fallbacks]))
        candidates = candidates[: config.max_attempts]
        passed_over: list[str] = []
        last_error: ServerError | None = None
        for model in candidates:
            validate_sampling(request, catalog.get(model).max_model_len)
            unreachable = self._availability.reason(model)
            if unreachable is not None:
                passed_over.append(f"{model} ({unreachable})")
                last_error = RetryableError(f"model '{model}' is unavailable: {unreachable}")
                continue
            if not self._breakers.try_acquire(model):
                passed_over.append(f"{model} (circuit open)")
                continue
            try:
                first, items = await self._open_retrying(model, request, catalog, config)
            except RequestFailedError:
                # This request's own failure: another model would fail on it too.
                self._breakers.release(model)
                raise
            except ServerError as error:
                if isinstance(error, OverloadedError):  # a full queue, not a dead model
                    self._breakers.release(model)
                else:
                    self._breakers.record_failure(model)
                passed_over.append(f"{model} ({type(error).__name__})")
                last_error = error
                continue
            except BaseException:
                self._breakers.release(model)
                raise
            self._breakers.record_success(model)
            decision = choice.decision
            if passed_over:
                decision = replace(
                    decision, model=model, reason=f"fallback after {', '.join(passed_over)}"
                )
            return decision, first, items
        if last_error is not None:
            raise last_error
        retry_in_s = min(self._breakers.retry_in_s(model) for model in candidates)
        raise RetryableError(
            f"no model can take this request now: {', '.join(passed_over)}; "
            f"retry in {retry_in_s:.0f} s"
        )

    async def _open_retrying(
        self, model: str, request: OpenAIRequest, catalog: ModelCatalog, config: RoutingConfig
    ) -> tuple[Any, AsyncGenerator[Any, None]]:
        """``_open_model``, sent again while a replica is lost before it answered: Ray Serve
        drops a dead replica from its choices at once, so the retry lands on another one (or
        waits for the one it restarts)."""
        retries = config.replica_retries
        for attempt in range(retries + 1):
            try:
                return await self._open_model(model, request, catalog, config)
            except ReplicaLostError as error:
                if attempt == retries:
                    raise
                logger.info("retrying %s on another replica after %s", model, error.message)
                self._stats.record_replica_retry(model)
                await asyncio.sleep(REPLICA_RETRY_BACKOFF_S * (attempt + 1))
        raise AssertionError("unreachable")

    async def _open_model(
        self, model: str, request: OpenAIRequest, catalog: ModelCatalog, config: RoutingConfig
    ) -> tuple[Any, AsyncGenerator[Any, None]]:
        """Call one model and wait for its first item, raising what it reports."""
        request = request.model_copy(update={"model": model})
        endpoint = endpoint_of(request)
        # The span is current while the call starts, so Ray Serve's own spans of the
        # handle call (and the replica's) become its children.
        with model_call_span(model, endpoint) as span:
            items = self._backend.call(model, endpoint, request)
            timeout_s = config.first_token_timeout_s
            try:
                # Not wait_for: that would run the call in another task, and the backend
                # ties the call's life to the task that starts it.
                async with asyncio.timeout(timeout_s):
                    first = await anext(items)
            except StopAsyncIteration:
                raise ServerError(f"model '{model}' returned nothing") from None
            except TimeoutError:
                await items.aclose()
                raise RetryableError(
                    f"model '{model}' sent nothing within {timeout_s:g} s"
                ) from None
            head = first[0] if isinstance(first, list) and first else first
            error = split_at_error(head)[1] if isinstance(head, str) else head
            if isinstance(error, ErrorResponse):
                await items.aclose()
                raise from_engine_error(
                    error, model=model, input_field=input_field(request), served=catalog.names
                )
            span.first_item()
        return first, TracedItems(items, span)
