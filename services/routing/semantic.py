"""The policy of semantic routes: the variant with the utterance nearest the prompt.

Utterances are embedded once per routing table, on the first request that needs them;
each decision then embeds only the prompt and takes one matrix-vector product.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from services.errors import ServerError
from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.policy import PolicyServices, RoutingDependencyError
from services.routing.route_base import DEFAULT_VARIANT
from services.routing.semantic_config import SemanticRouteConfig


class Embedder(Protocol):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order (so a dot product is the cosine)."""
        ...


class UtteranceIndex:
    """A route's utterances as one matrix of embeddings, row ``i`` owned by ``owners[i]``."""

    def __init__(self, route: SemanticRouteConfig) -> None:
        self.owners = [v for v in route.variants for _ in v.utterances]
        self._texts = [u for v in route.variants for u in v.utterances]
        self._matrix: np.ndarray | None = None
        self._lock = asyncio.Lock()

    async def matrix(self, embedder: Embedder) -> np.ndarray:
        if self._matrix is None:
            # Requests arriving together before the first embedding is back wait for
            # it instead of each embedding every utterance again.
            async with self._lock:
                if self._matrix is None:
                    vectors = await embedder.embed(self._texts)
                    self._matrix = _as_matrix(vectors, len(self._texts))
        return self._matrix


class SemanticPolicy:
    def __init__(self, route: SemanticRouteConfig, services: PolicyServices) -> None:
        self._route = route
        self._embedder = services.embedder
        self._index = UtteranceIndex(route)

    async def decide(self, hints: RoutingHints, facts: RequestFacts) -> RouteDecision:
        embedder = self._require_embedder()
        if not facts.text.strip():
            return self._decision(self._route.default, DEFAULT_VARIANT, "no prompt text")
        matrix = await self._index.matrix(embedder)
        prompt = _as_matrix(await embedder.embed([facts.text]), 1)[0]
        if prompt.shape[0] != matrix.shape[1]:
            raise ServerError(
                f"the embedder returned {prompt.shape[0]} dimensions for the prompt but "
                f"{matrix.shape[1]} for the utterances of route '{self._route.name}'"
            )
        similarities = matrix @ prompt
        best = int(np.argmax(similarities))
        similarity, variant = float(similarities[best]), self._index.owners[best]
        threshold = self._route.threshold
        nearest = f"nearest '{variant.name}' (similarity {similarity:.2f}"
        if similarity >= threshold:
            return self._decision(variant.model, variant.name, f"{nearest} >= {threshold:.2f})")
        reason = f"{nearest} < {threshold:.2f}), default"
        return self._decision(self._route.default, DEFAULT_VARIANT, reason)

    def _require_embedder(self) -> Embedder:
        if self._embedder is None:
            raise RoutingDependencyError(
                f"route '{self._route.name}' is semantic but the router has no embedder"
            )
        return self._embedder

    def _decision(self, model: str, variant: str, reason: str) -> RouteDecision:
        return RouteDecision(
            model=model, route=self._route.name, variant=variant, reason=f"semantic: {reason}"
        )

    def describe(self) -> dict[str, object]:
        return {
            "variants": [
                {"name": v.name, "model": v.model, "utterances": len(v.utterances)}
                for v in self._route.variants
            ],
            "threshold": self._route.threshold,
            "default": self._route.default,
        }


def _as_matrix(vectors: list[list[float]], expected: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != expected:
        raise ServerError(f"the embedder returned {matrix.shape} for {expected} texts")
    return matrix
