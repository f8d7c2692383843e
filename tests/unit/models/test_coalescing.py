"""The model replica's grouping of streamed chunks: the first at once, later ones by time
and count, nothing lost, errors and closing passed through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cluster.models.coalescing import coalesce
from cluster.models.server import carries_text


async def _timed(gaps_s: list[float], fail: Exception | None = None) -> AsyncIterator[int]:
    for index, gap in enumerate(gaps_s):
        await asyncio.sleep(gap)
        yield index
    if fail is not None:
        raise fail


async def _collect(stream: AsyncIterator[list[int]]) -> list[tuple[float, list[int]]]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    return [(loop.time() - start, batch) async for batch in stream]


async def test_first_chunk_leaves_at_once_and_later_ones_are_grouped() -> None:
    batches = await _collect(coalesce(_timed([0.0] + [0.01] * 20), interval_s=0.1, max_chunks=100))
    first_at, first = batches[0]
    assert first == [0] and first_at < 0.05
    assert [c for _, batch in batches for c in batch] == list(range(21))
    # 20 chunks over ~0.2 s after the first: the gaps ramp 12.5, 25, 50, then 100 ms, so a
    # handful of messages, not twenty.
    assert 3 <= len(batches) - 1 <= 6
    assert batches[1][0] < 0.05  # the second message followed the first closely


async def test_a_full_batch_leaves_before_the_interval() -> None:
    batches = await _collect(coalesce(_timed([0.0] * 10), interval_s=10, max_chunks=3))
    assert [batch for _, batch in batches] == [[0], [1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert batches[-1][0] < 1


async def test_a_chunk_after_a_quiet_interval_leaves_at_once() -> None:
    batches = await _collect(coalesce(_timed([0.0, 0.3]), interval_s=0.05, max_chunks=100))
    assert [batch for _, batch in batches] == [[0], [1]]
    assert batches[1][0] < 0.4


async def test_zero_interval_sends_every_chunk_alone() -> None:
    batches = await _collect(coalesce(_timed([0.0] * 4), interval_s=0, max_chunks=100))
    assert [batch for _, batch in batches] == [[0], [1], [2], [3]]


async def test_an_error_comes_after_the_chunks_before_it() -> None:
    seen: list[int] = []
    with pytest.raises(ValueError, match="engine died"):
        async for batch in coalesce(
            _timed([0.0, 0.0, 0.0], fail=ValueError("engine died")), interval_s=0.05, max_chunks=100
        ):
            seen += batch
    assert seen == [0, 1, 2]


async def test_closing_the_stream_closes_the_engine_stream() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
                await asyncio.sleep(0.001)
        finally:
            closed.set()

    stream = coalesce(endless(), interval_s=0.02, max_chunks=100)
    assert await anext(stream) == [1]
    await anext(stream)
    await stream.aclose()
    await asyncio.wait_for(closed.wait(), 1)


async def test_chunks_without_text_do_not_start_the_grouping() -> None:
    role, empty, *texts = [
        'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n',
        'data: {"choices":[{"text":""}]}\n\n',
        'data: {"choices":[{"text":"Hi"}]}\n\n',
        'data: {"choices":[{"text":" there"}]}\n\n',
    ]

    async def stream() -> AsyncIterator[str]:
        for chunk in (role, empty, *texts):
            await asyncio.sleep(0.02)
            yield chunk

    loop = asyncio.get_running_loop()
    start = loop.time()
    batches = [
        (loop.time() - start, batch)
        async for batch in coalesce(
            stream(), interval_s=10, max_chunks=100, carries_text=carries_text
        )
    ]
    assert [batch for _, batch in batches] == [[role], [empty], [texts[0]], [texts[1]]]
    assert batches[2][0] < 1  # the first text did not wait for the interval


def test_carries_text() -> None:
    assert carries_text('data: {"choices":[{"delta":{"content":"a"}}]}\n\n')
    assert not carries_text('data: {"choices":[{"delta":{"role":"assistant","content":""}}]}')
    assert carries_text(object())  # an error response goes out at once
