"""The embedder's Ray Serve deployment: sentence embeddings for the router's semantic routes.

Concurrent calls are gathered into one model run. The run blocks this replica's user-code
thread (Ray Serve keeps its own control loop apart): one model serves one run at a time
anyway, and handing the run to another thread cost about 2 ms per call here.
"""

from __future__ import annotations

from ray import serve
from ray.serve.deployment import Application

from services.embedder.batching import embed_batches
from services.embedder.config import EmbedderConfig
from services.embedder.model import SentenceEmbedder
from services.embedder.validation import validate_texts
from services.telemetry.logs import configure_logging

EMBEDDER_DEPLOYMENT = "embedder"


@serve.deployment(name=EMBEDDER_DEPLOYMENT)
class EmbedderDeployment:
    def __init__(self, config: EmbedderConfig) -> None:
        configure_logging()
        self._embedder = SentenceEmbedder(
            threads=config.threads, backend=config.backend, precision=config.precision
        )
        self._embed_batch.set_max_batch_size(config.max_batch_size)
        self._embed_batch.set_batch_wait_timeout_s(config.batch_wait_timeout_s)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit-length 384-float vector per text, in order."""
        # Validated here, not in the batch, so one bad call never fails its batch-mates.
        return await self._embed_batch(validate_texts(texts))

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.0)
    async def _embed_batch(self, batches: list[list[str]]) -> list[list[list[float]]]:
        return embed_batches(self._embedder.embed, batches)


def embedder_options(config: EmbedderConfig) -> dict[str, object]:
    """The Ray Serve options ``config`` asks for."""
    return {
        "num_replicas": config.replicas,
        "max_ongoing_requests": config.max_ongoing_requests,
        "ray_actor_options": {"num_cpus": config.num_cpus},
    }


def embedder_deployment(config: EmbedderConfig) -> Application:
    """The embedder bound with ``config``'s replicas, resources and batching applied."""
    return EmbedderDeployment.options(**embedder_options(config)).bind(config)
