"""Shadow copies run off the caller's path, are bounded, and are measured."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator
from typing import Any

from services.router.requests import CompletionRequest, Endpoint, OpenAIRequest
from services.router.shadow import ShadowMirror
from services.router.stats import RoutingStats
from services.routing.shadow_config import ShadowConfig
from tests.unit.router.fakes import ScriptedBackend, chat_response

REQUEST = CompletionRequest(model="alpha", prompt="hi", stream=True)


async def test_copy_goes_to_the_shadow_model_unstreamed_and_is_measured() -> None:
    backend = ScriptedBackend({"shadow": [chat_response("x", model="shadow")]})
    stats = RoutingStats()
    mirror = ShadowMirror(backend, stats)
    mirror.maybe_mirror("r", ShadowConfig(model="shadow", fraction=1.0), REQUEST)
    await mirror.drain()
    model, endpoint, sent = backend.calls[0]
    assert (model, endpoint, sent.model, sent.stream) == ("shadow", "completions", "shadow", False)
    row = stats.snapshot()["shadows"][0]
    assert (row["route"], row["model"], row["requests"], row["errors"]) == ("r", "shadow", 1, 0)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (1, 1)
    assert row["mean_latency_ms"] > 0


async def test_a_failing_shadow_is_counted_never_raised() -> None:
    backend = ScriptedBackend({"shadow": [RuntimeError("engine died")]})
    stats = RoutingStats()
    mirror = ShadowMirror(backend, stats)
    mirror.maybe_mirror("r", ShadowConfig(model="shadow", fraction=1.0), REQUEST)
    await mirror.drain()
    assert stats.shadow("r", "shadow").errors == 1


async def test_fraction_samples_requests() -> None:
    backend = ScriptedBackend({"shadow": [chat_response("x")]})
    mirror = ShadowMirror(backend, RoutingStats(), rng=random.Random(7))
    shadow = ShadowConfig(model="shadow", fraction=0.25, max_in_flight=1000)
    for _ in range(1000):
        mirror.maybe_mirror("r", shadow, REQUEST)
    await mirror.drain()
    assert 200 <= len(backend.calls) <= 300


async def test_copies_beyond_max_in_flight_are_dropped() -> None:
    release = asyncio.Event()

    class SlowBackend(ScriptedBackend):
        async def call(
            self, model: str, endpoint: Endpoint, request: OpenAIRequest
        ) -> AsyncGenerator[Any, None]:
            await release.wait()
            async for item in super().call(model, endpoint, request):
                yield item

    stats = RoutingStats()
    mirror = ShadowMirror(SlowBackend({"shadow": [chat_response("x")]}), stats)
    shadow = ShadowConfig(model="shadow", fraction=1.0, max_in_flight=2)
    for _ in range(5):
        mirror.maybe_mirror("r", shadow, REQUEST)
    release.set()
    await mirror.drain()
    totals = stats.shadow("r", "shadow")
    assert (totals.requests, totals.dropped) == (2, 3)
