"""Request facts: the prompt text semantic routes embed and the features rules match."""

from __future__ import annotations

import pytest

from services.router.facts import request_facts
from services.router.requests import ChatCompletionRequest, CompletionRequest

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


def chat(messages: list[dict], **params: object) -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=messages, **params)


def test_chat_text_is_the_last_user_message() -> None:
    facts = request_facts(
        chat(
            [
                {"role": "system", "content": "You are a support bot."},
                {"role": "user", "content": "my invoice is wrong"},
                {"role": "assistant", "content": "Which one?"},
                {"role": "user", "content": [{"type": "text", "text": "the March"}, IMAGE]},
            ]
        )
    )
    assert facts.text == "the March"
    assert facts.is_chat
    assert facts.messages[-1] == {"role": "user", "content": "the March"}
    assert facts.features == {"images"}


def test_a_chat_without_user_messages_has_no_text() -> None:
    assert request_facts(chat([{"role": "system", "content": "hi"}])).text == ""


@pytest.mark.parametrize(
    ("params", "features"),
    [
        ({}, set()),
        ({"tools": TOOLS}, {"tools"}),
        ({"tools": TOOLS, "tool_choice": "none"}, set()),
        ({"response_format": {"type": "json_object"}}, {"json"}),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, {"json"}),
        ({"response_format": {"type": "text"}}, set()),
        ({"structured_outputs": {"json": {"type": "object"}}}, {"json"}),
        ({"logprobs": True}, {"logprobs"}),
        ({"stream": True}, {"stream"}),
    ],
)
def test_chat_features(params: dict, features: set[str]) -> None:
    facts = request_facts(chat([{"role": "user", "content": "hi"}], **params))
    assert facts.features == features


def test_chat_tools_are_kept_for_counting_and_empty_content_becomes_text() -> None:
    call = {"id": "1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "look it up"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
    ]
    facts = request_facts(chat(messages, tools=TOOLS))
    assert facts.tools[0]["function"]["name"] == "lookup"
    assert facts.messages[1]["content"] == ""
    assert facts.messages[1]["tool_calls"] == [call]


@pytest.mark.parametrize(
    ("prompt", "text", "prompts"),
    [
        ("once upon", "once upon", ("once upon",)),
        (["first", "second"], "first", ("first", "second")),
        ([1, 2, 3], "", ((1, 2, 3),)),
        ([[1, 2], [3]], "", ((1, 2), (3,))),
    ],
)
def test_completion_prompts(prompt: object, text: str, prompts: tuple) -> None:
    facts = request_facts(CompletionRequest(model="m", prompt=prompt))
    assert (facts.text, facts.prompts, facts.is_chat) == (text, prompts, False)


def test_completion_features() -> None:
    request = CompletionRequest(
        model="m", prompt="x", logprobs=0, stream=True, response_format={"type": "json_object"}
    )
    assert request_facts(request).features == {"logprobs", "stream", "json"}
    assert request_facts(CompletionRequest(model="m", prompt="x")).features == set()
