"""The live routing table: which model, variant and fallbacks serve a request, and why."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from services.embedder.examples import Embedder
from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.config import (
    RouteConfig,
    RoutingConfig,
    RulesRouteConfig,
    SemanticRouteConfig,
    SplitRouteConfig,
)
from services.routing.policy import PolicyServices, RoutePolicy
from services.routing.rules import RulesPolicy
from services.routing.semantic import SemanticPolicy
from services.routing.shadow_config import ShadowConfig
from services.routing.split import SplitPolicy
from services.routing.tokens import TokenCounter

# One policy class per route kind: a new kind registers here, the table never branches.
POLICIES: dict[type, Callable[..., RoutePolicy]] = {
    SplitRouteConfig: SplitPolicy,
    RulesRouteConfig: RulesPolicy,
    SemanticRouteConfig: SemanticPolicy,
}


@dataclass(frozen=True)
class RouteChoice:
    decision: RouteDecision
    fallbacks: tuple[str, ...] = ()
    shadow: ShadowConfig | None = None


class RoutingTable:
    """Built from the router's user_config; replaced whole on every live change.

    ``embedder`` serves semantic routes and ``token_counter`` rules with prompt-length
    bounds; a route that needs one the table lacks fails its requests with a
    ``RoutingDependencyError``. Pass the same instances to every new table so their caches
    (loaded tokenizers) outlive route changes.
    """

    def __init__(
        self,
        config: RoutingConfig | None = None,
        rng: random.Random | None = None,
        *,
        embedder: Embedder | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        self.config = config or RoutingConfig()
        self._routes: dict[str, RouteConfig] = {route.name: route for route in self.config.routes}
        services = PolicyServices(
            rng=rng or random.Random(), embedder=embedder, token_counter=token_counter
        )
        # Built once per table, not per request: the decision is on every request's path.
        self._policies: dict[str, RoutePolicy] = {
            route.name: POLICIES[type(route)](route, services) for route in self.config.routes
        }
        self._fallbacks = {route.name: tuple(route.fallbacks) for route in self.config.routes}

    @property
    def aliases(self) -> list[str]:
        return sorted(self._routes)

    def aliases_of(self, model: str) -> list[str]:
        """The routes whose decision can pick ``model`` (fallbacks and shadows aside)."""
        return [name for name in self.aliases if model in self._routes[name].chosen_models()]

    @property
    def max_attempts(self) -> int:
        return self.config.max_attempts

    def route(self, name: str) -> RouteConfig | None:
        return self._routes.get(name)

    def route_cards(self) -> list[dict[str, object]]:
        """OpenAI ``model`` objects for the aliases, so clients can discover them."""
        return [self._card(self._routes[name]) for name in self.aliases]

    def _card(self, route: RouteConfig) -> dict[str, object]:
        return {
            "id": route.name,
            "object": "model",
            "owned_by": "llm-fleet",
            "metadata": {
                "route": route.kind,
                "description": route.description,
                **self._policies[route.name].describe(),
                "fallbacks": list(route.fallbacks),
                "shadow": route.shadow.model_dump() if route.shadow else None,
            },
        }

    async def choose(self, hints: RoutingHints, facts: RequestFacts) -> RouteChoice | None:
        """The choice for a request that names a route; None when it names no route."""
        policy = self._policies.get(hints.model)
        if policy is None:
            return None
        decision = await policy.decide(hints, facts)
        return RouteChoice(
            decision=decision,
            fallbacks=self._fallbacks[hints.model],
            shadow=self._routes[hints.model].shadow,
        )
