"""Calls from the router to the model deployments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from services.errors import OverloadedError
from services.router.requests import Endpoint, OpenAIRequest


class ModelBackend(Protocol):
    """Sends one request to one served model and streams back what it yields."""

    def call(self, model: str, endpoint: Endpoint, request: OpenAIRequest) -> AsyncIterator[Any]:
        ...


class ServeHandleBackend:
    """The model deployments, reached through Ray Serve handles to Ray's ``LLMServer``."""

    def __init__(self, handles: Mapping[str, DeploymentHandle]) -> None:
        # Configured handles are cached: each .options() call builds a new handle
        # with its own metrics pusher and long-poll client.
        self._handles = {name: handle.options(stream=True) for name, handle in handles.items()}

    async def call(
        self, model: str, endpoint: Endpoint, request: OpenAIRequest
    ) -> AsyncIterator[Any]:
        response = getattr(self._handles[model], endpoint).remote(request)
        finished = False
        try:
            async for item in response:
                yield item
            finished = True
        except BackPressureError:
            finished = True
            raise OverloadedError(
                f"model '{model}' is at capacity (its request queue is full); retry later"
            ) from None
        finally:
            if not finished:
                # The caller went away (disconnect, cancel, deadline): abort the
                # generation in the engine instead of letting it run to the end.
                response.cancel()
