"""The model's stream as the router passes it on: always with the closing usage chunk asked
for, flattened into server-sent-event strings."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from services.router.engine_errors import split_at_error
from services.router.requests import ErrorResponse, OpenAIRequest, StreamOptions
from services.router.stream_facts import StreamFacts


def asks_usage(request: OpenAIRequest) -> bool:
    return bool(request.stream_options and request.stream_options.include_usage)


def with_usage(options: StreamOptions | None) -> StreamOptions:
    if options is None:
        return StreamOptions(include_usage=True)
    return options.model_copy(update={"include_usage": True})


async def as_sse(
    first: Any,
    rest: AsyncGenerator[Any, None],
    facts: StreamFacts,
    on_error: Callable[[ErrorResponse], Exception],
) -> AsyncGenerator[str, None]:
    """Flatten Ray Serve LLM's stream (strings, or lists of strings when it
    coalesces chunks) into SSE strings, closing with ``data: [DONE]``; ``facts`` reads
    the usage and finish reasons on the way. An error event the engine sends ends the
    stream with ``on_error(error)``, raised after the events before it."""
    done = False
    try:
        item = first
        while True:
            text, error = split_at_error("".join(item) if isinstance(item, list) else str(item))
            text = facts.read(text)
            if error is not None:
                if text:
                    yield text
                raise on_error(error)
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
