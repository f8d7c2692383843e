"""A stand-in for the model deployments, for tests of the logic above the engine."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from services.router.requests import ChatCompletionResponse, Endpoint, OpenAIRequest
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable


def chat_response(text: str, model: str = "alpha") -> ChatCompletionResponse:
    """A finished chat answer, as the model deployment returns it."""
    return ChatCompletionResponse(
        model=model,
        choices=[
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    )


class ScriptedBackend:
    """Yields a fixed script of items per model and records what it was sent."""

    def __init__(self, scripts: dict[str, list[Any]]) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, Endpoint, OpenAIRequest]] = []
        self.closed_early = 0

    async def call(
        self, model: str, endpoint: Endpoint, request: OpenAIRequest
    ) -> AsyncGenerator[Any, None]:
        self.calls.append((model, endpoint, request))
        finished = False
        try:
            for item in self.scripts[model]:
                if isinstance(item, Exception):
                    raise item
                yield item
            finished = True
        finally:
            if not finished:
                self.closed_early += 1


# A route 'chat' with one variant (alpha) falling back to beta.
ROUTED = RoutingTable(
    RoutingConfig.model_validate(
        {
            "routes": [
                {
                    "name": "chat",
                    "variants": [{"name": "only", "model": "alpha"}],
                    "fallbacks": ["beta"],
                }
            ]
        }
    )
)
