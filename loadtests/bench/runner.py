"""Closed-loop and open-loop (Poisson) drivers for any ``send(prompt)`` coroutine.

Closed loop (N users, each waiting for its answer before asking again) measures capacity
at a fixed concurrency. Open loop (requests arrive on their own schedule, whatever the
server's state) is how real traffic behaves: an overloaded server's queue grows and its
latency shows it, which a closed loop hides (coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from .clients import RequestResult

Send = Callable[[str], Awaitable[RequestResult]]


async def run_closed_loop(
    send: Send, prompts: Sequence[str], concurrency: int, num_requests: int
) -> tuple[list[RequestResult], float]:
    """``concurrency`` workers send ``num_requests`` in total, prompts taken in turn.

    Returns the results in completion order and the wall-clock duration in seconds.
    """
    if concurrency < 1 or not prompts:
        raise ValueError("need concurrency >= 1 and at least one prompt")
    # One shared counter: asyncio is single-threaded, so next() is atomic between awaits.
    indices = iter(range(num_requests))
    results: list[RequestResult] = []

    async def worker() -> None:
        for i in indices:
            results.append(await send(prompts[i % len(prompts)]))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, max(num_requests, 1)))))
    return results, time.perf_counter() - started


def poisson_gaps(rate: float, n: int, seed: int) -> list[float]:
    """``n`` exponential inter-arrival gaps (seconds) of a Poisson process at ``rate`` req/s."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    rng = random.Random(seed)
    return [rng.expovariate(rate) for _ in range(n)]


async def run_open_loop(
    send: Send, prompts: Sequence[str], rate: float, num_requests: int, seed: int = 0
) -> tuple[list[RequestResult], float]:
    """Start ``num_requests`` at Poisson arrival times of mean ``rate`` per second.

    Each request runs as its own task, so a slow server never delays later arrivals.
    Arrivals follow an absolute schedule (not sleep-after-sleep) so timer drift does not
    accumulate. Returns the results in arrival order and the wall-clock duration.
    """
    if not prompts:
        raise ValueError("need at least one prompt")
    gaps = poisson_gaps(rate, num_requests, seed)
    started = time.perf_counter()
    tasks: list[asyncio.Future[RequestResult]] = []
    for i, at in enumerate(itertools.accumulate(gaps)):
        delay = started + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(send(prompts[i % len(prompts)])))
    results = list(await asyncio.gather(*tasks))
    return results, time.perf_counter() - started
