"""The embedder's Ray Serve deployment: sentence embeddings for the router's semantic routes.

Concurrent calls are micro-batched into one model run, which happens on a worker thread
so that the replica keeps accepting calls while the model computes.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from ray import serve
from ray.serve.deployment import Application

from services.embedder.batching import embed_batches
from services.embedder.config import EmbedderConfig
from services.embedder.model import SentenceEmbedder
from services.embedder.validation import validate_texts

EMBEDDER_DEPLOYMENT = "embedder"


@serve.deployment(name=EMBEDDER_DEPLOYMENT)
class EmbedderDeployment:
    def __init__(self, config: EmbedderConfig) -> None:
        self._embedder = SentenceEmbedder(
            torch_threads=config.torch_threads, precision=config.precision
        )
        # One thread: the model is not thread-safe, and batches already run one at a time.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        self._embed_batch.set_max_batch_size(config.max_batch_size)
        self._embed_batch.set_batch_wait_timeout_s(config.batch_wait_timeout_s)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit-length 384-float vector per text, in order."""
        # Validated here, not in the batch, so one bad call never fails its batch-mates.
        return await self._embed_batch(validate_texts(texts))

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.002)
    async def _embed_batch(self, batches: list[list[str]]) -> list[list[list[float]]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, embed_batches, self._embedder.embed, batches
        )


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
