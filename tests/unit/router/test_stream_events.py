"""A replica's grouped message: its text-only chunks joined into one before the guard reads
them; anything else left as it came, in order."""

from __future__ import annotations

import json
from typing import Any

from services.router.stream_events import is_done, join_text_deltas, parse_events


def chat_chunk(content: str | None = None, **choice: Any) -> dict[str, Any]:
    delta = choice.pop("delta", {"content": content})
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None, **choice}
        ],
    }


def completion_chunk(text: str, **choice: Any) -> dict[str, Any]:
    base = {"index": 0, "text": text, "logprobs": None, "finish_reason": None}
    return {"id": "c", "object": "text_completion", "choices": [{**base, **choice}]}


def message(*events: dict[str, Any] | str) -> str:
    return "".join(
        f"data: {json.dumps(event)}\n\n" if isinstance(event, dict) else f"{event}\n\n"
        for event in events
    )


def test_consecutive_text_deltas_become_one_event_with_their_text_in_order() -> None:
    sse = message(chat_chunk("Hel"), chat_chunk("lo"), chat_chunk(", world"))

    joined = join_text_deltas(parse_events(sse), chat=True)

    assert joined == [chat_chunk("Hello, world")]


def test_completion_text_is_joined_the_same_way() -> None:
    sse = message(completion_chunk("a"), completion_chunk("b"), completion_chunk("c"))

    assert join_text_deltas(parse_events(sse), chat=False) == [completion_chunk("abc")]


def test_a_chunk_with_more_than_text_is_kept_and_ends_the_run() -> None:
    role = chat_chunk(delta={"role": "assistant", "content": ""})
    scored = chat_chunk("x", logprobs={"content": [{"token": "x", "logprob": -0.1}]})
    last = chat_chunk("!", finish_reason="stop")
    sse = message(
        role, chat_chunk("a"), chat_chunk("b"), scored, chat_chunk("c"), last, "data: [DONE]"
    )

    joined = join_text_deltas(parse_events(sse), chat=True)

    assert joined == [role, chat_chunk("ab"), scored, chat_chunk("c"), last, "data: [DONE]"]
    assert is_done(joined[-1]) and not is_done(joined[0])


def test_choices_of_different_index_are_not_joined() -> None:
    first, second = chat_chunk("a"), chat_chunk("b", index=1)

    assert join_text_deltas(parse_events(message(first, second)), chat=True) == [first, second]


def test_a_tool_call_delta_is_not_text() -> None:
    call = chat_chunk(delta={"content": None, "tool_calls": [{"index": 0, "id": "t"}]})
    sse = message(chat_chunk("a"), call, chat_chunk("b"))

    assert len(join_text_deltas(parse_events(sse), chat=True)) == 3
