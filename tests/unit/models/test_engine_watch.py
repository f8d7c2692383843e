"""A replica whose vLLM engine died ends itself, so that Serve replaces it at once."""

from __future__ import annotations

import asyncio

from cluster.models.server import watch_engine


async def test_a_dead_engine_ends_the_replica_and_a_live_one_does_not() -> None:
    checks = 0
    ended: list[str] = []

    async def check_health() -> None:
        nonlocal checks
        checks += 1
        if checks == 3:
            raise RuntimeError("EngineCore encountered an issue")

    await asyncio.wait_for(watch_engine(check_health, lambda: ended.append("ended"), 0.001), 5)
    assert (checks, ended) == (3, ["ended"])
