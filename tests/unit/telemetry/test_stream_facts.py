"""StreamFacts on server-sent events shaped as vLLM sends them (compact JSON, a usage
event with no choices at the end, several events joined when the engine coalesces)."""

from __future__ import annotations

import json
from typing import Any

from services.router.stream_facts import StreamFacts

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
DONE = "data: [DONE]\n\n"


def event(payload: dict[str, Any]) -> str:
    # vLLM writes pydantic's compact JSON: no spaces after ':' or ','.
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def chunk(content: str, finish_reason: str | None = None, id: str = "chatcmpl-1") -> str:
    return event(
        {
            "id": id,
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "alpha",
            "choices": [
                {"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}
            ],
        }
    )


def usage_event(id: str = "chatcmpl-1") -> str:
    return event(
        {
            "id": id,
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "alpha",
            "choices": [],
            "usage": USAGE,
        }
    )


def test_usage_event_is_dropped_when_the_caller_did_not_ask() -> None:
    facts = StreamFacts(keep_usage=False)
    assert facts.read(usage_event()) == ""
    assert facts.usage == USAGE


def test_usage_event_is_kept_when_the_caller_asked() -> None:
    facts = StreamFacts(keep_usage=True)
    assert facts.read(usage_event()) == usage_event()
    assert facts.usage == USAGE


def test_only_the_usage_event_of_a_batch_is_dropped() -> None:
    facts = StreamFacts(keep_usage=False)
    last = chunk("", "stop")
    assert facts.read(last + usage_event() + DONE) == last + DONE
    assert (facts.usage, facts.finish_reasons) == (USAGE, ["stop"])


def test_usage_on_a_chunk_with_choices_keeps_the_chunk() -> None:
    """continuous_usage_stats puts usage on text chunks: dropping them would lose text."""
    payload = json.loads(chunk("hi")[len("data: ") :])
    with_usage = event({**payload, "usage": USAGE})
    facts = StreamFacts(keep_usage=False)
    assert facts.read(with_usage) == with_usage


def test_finish_reason_found_in_a_batch_with_a_null_one() -> None:
    facts = StreamFacts(keep_usage=False)
    facts.read(chunk("first"))  # takes the id
    batch = chunk("more") + chunk("", "length")
    assert '"finish_reason":null' in batch
    assert facts.read(batch) == batch
    assert facts.finish_reasons == ["length"]


def test_finish_reason_found_in_spaced_json() -> None:
    facts = StreamFacts(keep_usage=False, response_id="known")
    spaced = 'data: {"choices": [{"index": 0, "finish_reason": "stop"}]}\n\n'
    facts.read(spaced)
    assert facts.finish_reasons == ["stop"]


def test_response_id_comes_from_the_first_chunk() -> None:
    facts = StreamFacts(keep_usage=False)
    facts.read(chunk("a", id="chatcmpl-first"))
    facts.read(chunk("b", "stop", id="chatcmpl-other"))
    assert facts.response_id == "chatcmpl-first"


def test_plain_text_chunks_pass_as_the_same_string() -> None:
    facts = StreamFacts(keep_usage=False)
    facts.read(chunk("a"))
    text = chunk("middle")
    # Not parsed at all once the id is known: the very same object comes back.
    assert facts.read(text) is text
    assert facts.finish_reasons == [] and facts.usage is None


def test_keeps_text_collects_delta_content() -> None:
    facts = StreamFacts(keep_usage=False, keeps_text=True)
    for part in (chunk("Hel"), chunk("lo") + chunk("", "stop"), usage_event(), DONE):
        facts.read(part)
    assert facts.text() == "Hello"


def test_keeps_text_collects_completion_text() -> None:
    facts = StreamFacts(keep_usage=False, keeps_text=True)
    facts.read(event({"id": "cmpl-1", "choices": [{"index": 0, "text": "abc"}]}))
    assert facts.text() == "abc"


def test_text_is_not_collected_unless_asked() -> None:
    facts = StreamFacts(keep_usage=False)
    facts.read(chunk("Hel") + chunk("lo", "stop"))
    assert facts.text() == ""


def test_done_and_non_json_events_pass() -> None:
    facts = StreamFacts(keep_usage=False)
    assert facts.read(DONE) == DONE
    assert facts.read("data: not json\n\n") == "data: not json\n\n"
    assert facts.read(": keep-alive\n\ndata: [1, 2]\n\n") == ": keep-alive\n\ndata: [1, 2]\n\n"
    assert facts.response_id is None
