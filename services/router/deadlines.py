"""A caller's deadline, enforced in the router from arrival to the stream's last chunk.

Callers state it as ``x-fleet-timeout-ms`` (an HTTP header, or gRPC metadata: the client
library sends it beside every call's gRPC deadline). gRPC's own deadline does not reach
a Ray Serve replica (the proxy keeps ``grpc-timeout`` to itself and only cancels, which it
can miss: ray-project/ray#42665), and HTTP has none. When the deadline passes, the model
call is closed, which aborts the engine's request: no work goes on for a caller that left.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from services.errors import DeadlineExceededError, InvalidRequestError

TIMEOUT_HEADER = "x-fleet-timeout-ms"
# A day: beyond it a deadline is no deadline, and a typo (seconds for ms) is likelier.
MAX_TIMEOUT_MS = 86_400_000

T = TypeVar("T")


def parse_timeout_ms(value: str | None) -> float | None:
    """Seconds from an ``x-fleet-timeout-ms`` value (a positive whole number); None when
    absent. Anything else is the caller's error, never silently ignored."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_TIMEOUT_MS:
        raise InvalidRequestError(
            f"{TIMEOUT_HEADER} must be a whole number of milliseconds from 1 to "
            f"{MAX_TIMEOUT_MS}, got {value[:32]!r}",
            param=TIMEOUT_HEADER,
        )
    return int(text) / 1000


def deadline_after(timeout_s: float | None) -> float | None:
    """The event loop's time at which ``timeout_s`` from now runs out (None: never)."""
    if timeout_s is None:
        return None
    return asyncio.get_running_loop().time() + timeout_s


def _expired() -> DeadlineExceededError:
    return DeadlineExceededError(f"the request's deadline ({TIMEOUT_HEADER}) passed")


@asynccontextmanager
async def within(deadline: float | None) -> AsyncIterator[None]:
    """Run the block until ``deadline`` (loop time), then cancel it and raise
    DeadlineExceededError."""
    if deadline is None:
        yield
        return
    try:
        async with asyncio.timeout_at(deadline):
            yield
    except TimeoutError:
        raise _expired() from None


async def until(items: AsyncGenerator[T, None], deadline: float | None) -> AsyncGenerator[T, None]:
    """``items`` while ``deadline`` has not passed; then they are closed (the model call with
    them) and DeadlineExceededError ends the stream.

    Each wait for the next item is timed on its own: a timeout around the ``yield`` would
    fire in whatever the consumer does between items, outside this generator.
    """
    try:
        while True:
            try:
                async with within(deadline):
                    item = await anext(items)
            except StopAsyncIteration:
                return
            yield item
    finally:
        await items.aclose()
