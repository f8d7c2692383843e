"""Mirror a share of a route's requests to a candidate model, off the caller's path.

A copy runs as its own task after the primary was chosen: the caller never waits
for it and never sees its result or its failure. Only its latency and token
counts are kept.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextlib import aclosing

from services.router.backend import ModelBackend
from services.router.requests import ErrorResponse, OpenAIRequest, endpoint_of
from services.router.stats import RoutingStats
from services.routing.shadow_config import ShadowConfig
from services.telemetry.tracing import tracer

logger = logging.getLogger(__name__)


class ShadowMirror:
    def __init__(
        self, backend: ModelBackend, stats: RoutingStats, rng: random.Random | None = None
    ) -> None:
        self._backend = backend
        self._stats = stats
        self._rng = rng or random.Random()
        self._in_flight: dict[tuple[str, str], set[asyncio.Task[None]]] = {}

    def maybe_mirror(self, route: str, shadow: ShadowConfig, request: OpenAIRequest) -> None:
        """Start a copy of ``request`` to the shadow model, if this request is sampled."""
        if self._rng.random() >= shadow.fraction:
            return
        running = self._in_flight.setdefault((route, shadow.model), set())
        if len(running) >= shadow.max_in_flight:
            self._stats.shadow(route, shadow.model).dropped += 1
            self._stats.metrics.shadow(route=route, model=shadow.model, status="dropped")
            return
        copy = request.model_copy(update={"model": shadow.model, "stream": False})
        task = asyncio.create_task(self._run(route, shadow.model, copy))
        running.add(task)
        task.add_done_callback(running.discard)

    async def drain(self) -> None:
        """Wait for the copies in flight (tests and shutdown)."""
        tasks = [task for running in self._in_flight.values() for task in running]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, route: str, model: str, request: OpenAIRequest) -> None:
        # Its own span, in the caller's trace: the copy outlives the request it mirrors.
        attributes = {"llm_fleet.route": route, "gen_ai.request.model": model}
        with tracer().start_as_current_span(f"llm_fleet.shadow {model}", attributes=attributes):
            await self._mirror(route, model, request)

    async def _mirror(self, route: str, model: str, request: OpenAIRequest) -> None:
        totals = self._stats.shadow(route, model)
        totals.requests += 1
        started = time.perf_counter()
        try:
            body = None
            async with aclosing(self._backend.call(model, endpoint_of(request), request)) as items:
                async for item in items:
                    body = item[0] if isinstance(item, list) and item else item
            if body is None or isinstance(body, ErrorResponse):
                raise RuntimeError(f"shadow model answered {body!r}")
        except Exception as error:  # a shadow must never hurt the caller; count it
            totals.errors += 1
            self._stats.metrics.shadow(route=route, model=model, status="error")
            logger.warning("shadow request to %s for route %s failed: %s", model, route, error)
            return
        self._stats.metrics.shadow(route=route, model=model, status="ok")
        totals.latency_ms_total += (time.perf_counter() - started) * 1000
        usage = getattr(body, "usage", None)
        if usage is not None:
            totals.prompt_tokens += usage.prompt_tokens
            totals.completion_tokens += usage.completion_tokens or 0
