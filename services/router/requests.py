"""The request and response types of the router: vLLM's OpenAI protocol models."""

from __future__ import annotations

from typing import Literal

# The engine yields Ray's internal protocol classes; the public module only
# subclasses them, so errors must be recognised by the internal base class.
from ray.llm._internal.serve.core.configs.openai_api_models import ErrorResponse
from ray.serve.llm.openai_api_models import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
)
from vllm.entrypoints.generate.base.protocol import StreamOptions

OpenAIRequest = ChatCompletionRequest | CompletionRequest
OpenAIResponse = ChatCompletionResponse | CompletionResponse
Endpoint = Literal["chat", "completions"]

__all__ = [
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "CompletionRequest",
    "CompletionResponse",
    "Endpoint",
    "ErrorResponse",
    "OpenAIRequest",
    "OpenAIResponse",
    "StreamOptions",
]


def endpoint_of(request: OpenAIRequest) -> Endpoint:
    return "chat" if isinstance(request, ChatCompletionRequest) else "completions"


def input_field(request: OpenAIRequest) -> str:
    """The body field that holds the prompt, for errors about its length."""
    return "messages" if isinstance(request, ChatCompletionRequest) else "prompt"
