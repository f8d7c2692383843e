"""A typed Python client for the fleet's gRPC API (``fleet.v1.FleetService``).

Usage::

    from services.client import FleetClient

    with FleetClient("localhost:9000", timeout=30) as client:
        answer = client.generate(model="qwen", prompt="Hello", max_tokens=16)
        print(answer.text, answer.usage.total_tokens)

``AsyncFleetClient`` is the same for asyncio. Errors raise ``FleetClientError``.
"""

from services.client.async_client import AsyncFleetClient, AsyncGenerationStream
from services.client.convert import GenerateArgs
from services.client.errors import FleetClientError
from services.client.retry import RetryPolicy
from services.client.sync_client import FleetClient, GenerationStream
from services.client.types import (
    ChatMessage,
    FinishReason,
    Generation,
    ModelInfo,
    RouteInfo,
    StreamEnd,
    TextDelta,
    Usage,
)

__all__ = [
    "AsyncFleetClient",
    "AsyncGenerationStream",
    "ChatMessage",
    "FinishReason",
    "FleetClient",
    "FleetClientError",
    "GenerateArgs",
    "Generation",
    "GenerationStream",
    "ModelInfo",
    "RetryPolicy",
    "RouteInfo",
    "StreamEnd",
    "TextDelta",
    "Usage",
]
