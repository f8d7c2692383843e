"""The facts routing policies read from an OpenAI request, extracted once per request.

Features (what rules can require with ``match.features``):

- ``tools``: chat tools are given and ``tool_choice`` is not ``"none"``;
- ``json``: ``response_format`` is ``json_object`` or ``json_schema``, or vLLM's
  ``structured_outputs`` asks for JSON;
- ``logprobs``: chat ``logprobs: true``, or completions ``logprobs`` set (0 included);
- ``stream``: ``stream: true``;
- ``images``: a chat message has an ``image_url`` content part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.router.requests import ChatCompletionRequest, CompletionRequest, OpenAIRequest
from services.router.types import Feature, RequestFacts

_JSON_FORMATS = frozenset({"json_object", "json_schema"})


def request_facts(request: OpenAIRequest) -> RequestFacts:
    if isinstance(request, ChatCompletionRequest):
        return _chat_facts(request)
    return _completion_facts(request)


def _chat_facts(request: ChatCompletionRequest) -> RequestFacts:
    messages = tuple(_as_text_message(message) for message in request.messages)
    tools = tuple(tool.model_dump(exclude_none=True) for tool in request.tools or ())
    features: set[Feature] = set(_common_features(request))
    if tools and request.tool_choice != "none":
        features.add("tools")
    if request.logprobs:
        features.add("logprobs")
    if any(_has_image(message) for message in request.messages):
        features.add("images")
    # The latest user turn states what is asked now: a system prompt is shared by every
    # request of an application and earlier turns may be about another topic.
    last_user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    return RequestFacts(
        text=last_user, features=frozenset(features), messages=messages, tools=tools
    )


def _completion_facts(request: CompletionRequest) -> RequestFacts:
    prompt = request.prompt
    if prompt is None:
        prompts: tuple[str | tuple[int, ...], ...] = ()
    elif isinstance(prompt, str):
        prompts = (prompt,)
    elif prompt and isinstance(prompt[0], int):
        prompts = (tuple(prompt),)
    else:
        prompts = tuple(p if isinstance(p, str) else tuple(p) for p in prompt)
    features: set[Feature] = set(_common_features(request))
    if request.logprobs is not None:
        features.add("logprobs")
    # A batch of prompts is routed as one request: its first text prompt speaks for it.
    text = next((p for p in prompts if isinstance(p, str)), "")
    return RequestFacts(text=text, features=frozenset(features), prompts=prompts)


def _common_features(request: OpenAIRequest) -> Iterable[Feature]:
    if request.stream:
        yield "stream"
    response_format = request.response_format
    structured = request.structured_outputs
    if getattr(response_format, "type", None) in _JSON_FORMATS or (
        structured is not None and (structured.json is not None or structured.json_object)
    ):
        yield "json"


def _parts(message: Any) -> list[Any]:
    content = _get(message, "content")
    return content if isinstance(content, list) else []


def _has_image(message: Any) -> bool:
    return any(_get(part, "type") == "image_url" for part in _parts(message))


def _as_text_message(message: Any) -> Mapping[str, Any]:
    """The message with its content as one string, as text-only chat templates expect."""
    content = _get(message, "content")
    if isinstance(content, list):
        content = "\n".join(
            str(_get(part, "text")) for part in content if _get(part, "type") == "text"
        )
    as_dict = dict(message) if isinstance(message, Mapping) else {"role": _get(message, "role")}
    return {**as_dict, "content": content or ""}


def _get(item: Any, key: str) -> Any:
    # Messages are TypedDicts (plain dicts) from JSON; harmony messages are objects.
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)
