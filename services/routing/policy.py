"""The interface every route kind's policy implements, and what policies may be given."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from services.errors import ServerError
from services.router.types import RequestFacts, RouteDecision, RoutingHints

if TYPE_CHECKING:
    from services.embedder.examples import Embedder
    from services.routing.tokens import TokenCounter


class RoutingDependencyError(ServerError):
    """A route needs a service the router was not given (an embedder, a token counter)."""


@dataclass(frozen=True)
class PolicyServices:
    """What the routing table hands each policy; a policy uses only what its kind needs."""

    rng: random.Random
    embedder: Embedder | None = None
    token_counter: TokenCounter | None = None


class RoutePolicy(Protocol):
    """Decides for one route. Built once per routing table, so per-route preparation
    (weights, compiled rules, utterance embeddings) is not redone per request."""

    async def decide(self, hints: RoutingHints, facts: RequestFacts) -> RouteDecision: ...

    def describe(self) -> dict[str, object]:
        """What the route's ``/v1/models`` card shows beyond kind, description and
        fallbacks."""
        ...
