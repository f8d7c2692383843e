"""How a model replica groups the engine's streamed chunks into messages to the router.

Every message on the way out (model replica to router, router to proxy) costs each hop a
Ray message, so chunks are grouped. Ray Serve LLM's own grouping holds every chunk, the
first one included, for a fixed interval, which sets the first token back by that
interval. Here the chunks up to the first that carries text leave at once (a chat stream
opens with a role-only chunk) and only later ones are grouped: by time (``interval_s``
since the last message) and by count (``max_chunks`` waiting).

The interval starts at an eighth of ``interval_s`` and doubles with each message: the
first words follow the first token closely (an output guard holds a word back until it
ends, and would otherwise wait a whole interval for the next one), and a long stream
still goes out at one message per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_FIRST_GAP_DIVISOR = 8


async def coalesce(
    chunks: AsyncIterator[T],
    *,
    interval_s: float,
    max_chunks: int,
    carries_text: Callable[[T], bool] = lambda _: True,
) -> AsyncGenerator[list[T], None]:
    """Yield ``chunks`` as lists: each chunk alone as soon as it arrives until one
    ``carries_text`` (the first token the caller sees); after that,
    what arrived since the last list once ``interval_s`` has passed since it (a chunk
    arriving later than that leaves at once) or as soon as ``max_chunks`` are waiting;
    and whatever is left when ``chunks`` ends. ``interval_s`` 0 yields every chunk
    alone. An error of ``chunks`` is raised after the chunks before it. The interval
    ramps up to ``interval_s`` (see the module doc)."""
    if interval_s <= 0:
        async for chunk in chunks:
            yield [chunk]
        return
    pending = _Pending[T](max_chunks)
    reader = asyncio.create_task(pending.fill(chunks))
    loop = asyncio.get_running_loop()
    sent_at: float | None = None
    gap_s = interval_s / _FIRST_GAP_DIVISOR
    try:
        while True:
            if sent_at is not None:
                # Until the interval is over, only a full batch or the end wakes us.
                remaining = sent_at + gap_s - loop.time()
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(remaining):
                            await pending.wait(any_chunk=False)
            if not pending.chunks and not pending.ended:
                await pending.wait(any_chunk=True)
            if pending.chunks:
                batch = pending.take()
                yield batch
                if sent_at is not None:
                    gap_s = min(gap_s * 2, interval_s)
                if sent_at is not None or any(carries_text(chunk) for chunk in batch):
                    sent_at = loop.time()
            elif pending.ended:
                await reader  # raises the stream's error, if any
                return
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


class _Pending(Generic[T]):
    """The chunks read and not yet sent, and the wake-up of whoever waits for them."""

    def __init__(self, max_chunks: int) -> None:
        self.chunks: list[T] = []
        self._max_chunks = max_chunks
        self._event = asyncio.Event()
        self._wake_on_any = False
        self.ended = False

    async def fill(self, source: AsyncIterator[T]) -> None:
        try:
            async for chunk in source:
                self.chunks.append(chunk)
                if self._wake_on_any or len(self.chunks) >= self._max_chunks:
                    self._event.set()
        finally:
            self.ended = True
            self._event.set()

    async def wait(self, *, any_chunk: bool) -> None:
        if self.ended or len(self.chunks) >= self._max_chunks or (any_chunk and self.chunks):
            return
        self._wake_on_any = any_chunk
        self._event.clear()
        try:
            await self._event.wait()
        finally:
            self._wake_on_any = False

    def take(self) -> list[T]:
        taken, self.chunks = self.chunks, []
        return taken
