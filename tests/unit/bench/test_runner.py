"""The closed loop keeps to its concurrency; the open loop follows its Poisson schedule."""

import asyncio
import statistics
import time

from loadtests.bench.clients import RequestResult
from loadtests.bench.runner import poisson_gaps, run_closed_loop, run_open_loop


def _result(started: float) -> RequestResult:
    now = time.perf_counter()
    return RequestResult(True, None, started, [now], now, 1)


async def test_closed_loop_never_exceeds_concurrency_and_sends_exactly_n() -> None:
    in_flight = peak = 0
    sent: list[str] = []

    async def send(prompt: str) -> RequestResult:
        nonlocal in_flight, peak
        started = time.perf_counter()
        in_flight += 1
        peak = max(peak, in_flight)
        sent.append(prompt)
        await asyncio.sleep(0.002 * (1 + len(sent) % 3))
        in_flight -= 1
        return _result(started)

    results, duration = await run_closed_loop(send, ["a", "b", "c"], concurrency=4, num_requests=25)

    assert len(results) == len(sent) == 25
    assert peak == 4
    assert sorted(sent) == sorted(["a", "b", "c"] * 8 + ["a"])
    assert duration > 0


async def test_closed_loop_with_more_workers_than_requests() -> None:
    async def send(prompt: str) -> RequestResult:
        return _result(time.perf_counter())

    results, _ = await run_closed_loop(send, ["a"], concurrency=16, num_requests=3)

    assert len(results) == 3


def test_poisson_gaps_have_the_right_mean_and_are_seeded() -> None:
    gaps = poisson_gaps(rate=50.0, n=4000, seed=3)

    assert abs(statistics.fmean(gaps) - 1 / 50) < 0.1 / 50
    assert gaps == poisson_gaps(rate=50.0, n=4000, seed=3)
    assert gaps != poisson_gaps(rate=50.0, n=4000, seed=4)


async def test_open_loop_sends_n_at_the_scheduled_rate_without_waiting_for_answers() -> None:
    arrivals: list[float] = []

    async def send(prompt: str) -> RequestResult:
        started = time.perf_counter()
        arrivals.append(started)
        await asyncio.sleep(0.05)  # slower than the mean gap: requests must overlap
        return _result(started)

    rate, n = 200.0, 100
    results, duration = await run_open_loop(send, ["p"], rate=rate, num_requests=n, seed=1)

    assert len(results) == len(arrivals) == n
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert 0.5 / rate < statistics.fmean(gaps) < 2.0 / rate
    expected_span = sum(poisson_gaps(rate, n, seed=1))
    assert duration < expected_span + 0.5
