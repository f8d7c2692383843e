"""The model's stream as the router passes it on: always with the closing usage chunk asked
for, flattened into server-sent-event strings."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from services.router.requests import OpenAIRequest, StreamOptions
from services.router.stream_facts import StreamFacts


def asks_usage(request: OpenAIRequest) -> bool:
    return bool(request.stream_options and request.stream_options.include_usage)


def with_usage(options: StreamOptions | None) -> StreamOptions:
    if options is None:
        return StreamOptions(include_usage=True)
    return options.model_copy(update={"include_usage": True})


async def as_sse(
    first: Any, rest: AsyncGenerator[Any, None], facts: StreamFacts
) -> AsyncGenerator[str, None]:
    """Flatten Ray Serve LLM's stream (strings, or lists of strings when it
    coalesces chunks) into SSE strings, closing with ``data: [DONE]``; ``facts`` reads
    the usage and finish reasons on the way."""
    done = False
    try:
        item = first
        while True:
            text = facts.read("".join(item) if isinstance(item, list) else str(item))
            done = done or text.rstrip().endswith("data: [DONE]")
            if text:
                yield text
            try:
                item = await anext(rest)
            except StopAsyncIteration:
                break
    finally:
        await rest.aclose()
    if not done:
        yield "data: [DONE]\n\n"
