"""The embedder deployment as the ``Embedder`` semantic routes use."""

from __future__ import annotations

from collections.abc import Sequence

from ray import serve
from ray.serve.exceptions import DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle

from services.embedder.model import MAX_MODEL_CHARS
from services.routing.policy import RoutingDependencyError


class ServeEmbedder:
    def __init__(self, deployment: str, app: str) -> None:
        self._deployment = deployment
        self._app = app
        self._handle: DeploymentHandle | None = None

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self._handle is None:
            self._handle = serve.get_deployment_handle(
                self._deployment, app_name=self._app
            ).options(_by_reference=False)  # Serve's gRPC transport, as for the models
        try:
            # The model reads its first 256 tokens only; shipping more is wasted.
            return await self._handle.embed.remote([text[:MAX_MODEL_CHARS] for text in texts])
        except DeploymentUnavailableError:
            raise RoutingDependencyError(
                f"semantic routing needs the '{self._deployment}' deployment, which is not running"
            ) from None
