"""Async generators that clean up even when closed before they ever ran.

Python skips the body of an async generator closed before its first ``anext``, so its
``finally`` never runs. A stream handed to a transport that fails before reading it (the
client gone before the response started) would then leave the model call and its
telemetry open until garbage collection.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ClosesUnstarted(AsyncGenerator[T, None]):
    """``body``, plus ``on_unstarted_close`` awaited if it is closed before it ran."""

    def __init__(
        self, body: AsyncGenerator[T, None], on_unstarted_close: Callable[[], Awaitable[None]]
    ) -> None:
        self._body = body
        self._on_unstarted_close = on_unstarted_close
        self._started = False

    async def asend(self, value: None) -> T:
        self._started = True
        return await self._body.asend(value)

    async def athrow(self, *args: Any) -> T:
        self._started = True
        return await self._body.athrow(*args)

    async def aclose(self) -> None:
        try:
            if not self._started:
                self._started = True
                await self._on_unstarted_close()
        finally:
            await self._body.aclose()
