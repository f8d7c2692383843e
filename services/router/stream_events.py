"""The events of one streamed message from a model replica, parsed, with runs of plain text
deltas joined into one.

A replica groups the engine's chunks (one per token) into messages; a guarded stream reads
each chunk's text. Joining a message's consecutive text-only chunks first means the output
guard scans once per message rather than once per token, and the caller gets one event for
them: the same text in the same order, in fewer, larger deltas (OpenAI's stream promises no
token per event). A chunk that carries anything besides text (a role, tool calls,
logprobs, a finish reason, usage) stays as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

EVENT_SEPARATOR = "\n\n"
DONE = "[DONE]"

Event = dict[str, Any] | str
"""A parsed chunk, or an event passed on as it came (``data: [DONE]``, a comment)."""


def parse_events(sse: str) -> Iterator[Event]:
    """The non-blank events of an SSE message: JSON chunks parsed, others as they are."""
    for event in sse.split(EVENT_SEPARATOR):
        if not event.strip():
            continue
        payload = event.removeprefix("data: ")
        yield json.loads(payload) if payload.startswith("{") else event


def is_done(event: Event) -> bool:
    return isinstance(event, str) and event.removeprefix("data: ").strip() == DONE


def join_text_deltas(events: Iterator[Event], *, chat: bool) -> list[Event]:
    """``events`` with each run of consecutive plain text chunks (see ``_plain_text``) of
    the same shape joined into its first chunk."""
    joined: list[Event] = []
    run_shape: Any = None
    for event in events:
        text, shape = _plain_text(event, chat=chat)
        if text is not None and shape == run_shape and isinstance(joined[-1], dict):
            _append_text(joined[-1], text, chat=chat)
            continue
        joined.append(event)
        run_shape = shape if text is not None else None
    return joined


def _plain_text(event: Event, *, chat: bool) -> tuple[str | None, Any]:
    """The text of a chunk whose only choice carries text and nothing else, with the rest
    of the chunk (what must be equal to join two); ``(None, None)`` for any other."""
    if not isinstance(event, dict):
        return None, None
    choices = event.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
        return None, None
    choice = choices[0]
    if choice.get("finish_reason") is not None or choice.get("logprobs") is not None:
        return None, None
    holder = choice.get("delta") if chat else choice
    if not isinstance(holder, dict):
        return None, None
    text = holder.get("content" if chat else "text")
    if not isinstance(text, str):
        return None, None
    if chat and any(value is not None for key, value in holder.items() if key != "content"):
        return None, None
    rest = {key: value for key, value in choice.items() if key not in ("delta", "text")}
    shape = ({key: value for key, value in event.items() if key != "choices"}, rest)
    return text, shape


def _append_text(chunk: dict[str, Any], text: str, *, chat: bool) -> None:
    choice = chunk["choices"][0]
    holder = choice["delta"] if chat else choice
    key = "content" if chat else "text"
    holder[key] += text
