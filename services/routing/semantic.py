"""The policy of semantic routes: the variant with the utterance nearest the prompt.

Utterances are embedded once per routing table, on the first request that needs them;
each decision then embeds only the prompt and takes one matrix-vector product.
"""

from __future__ import annotations

import numpy as np

from services.embedder.examples import Embedder, ExampleIndex, as_matrix
from services.errors import ServerError
from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.policy import PolicyServices, RoutingDependencyError
from services.routing.route_base import DEFAULT_VARIANT
from services.routing.semantic_config import SemanticRouteConfig


class UtteranceIndex(ExampleIndex):
    """A route's utterances, row ``i`` owned by the variant ``owners[i]``."""

    def __init__(self, route: SemanticRouteConfig) -> None:
        super().__init__([u for v in route.variants for u in v.utterances])
        self.owners = [v for v in route.variants for _ in v.utterances]


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
        prompt = as_matrix(await embedder.embed([facts.text]), 1)[0]
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
