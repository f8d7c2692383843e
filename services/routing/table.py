"""The live routing table: which model, variant and fallbacks serve a request, and why."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.router.types import RouteDecision, RoutingHints
from services.routing.config import RouteConfig, RoutingConfig
from services.routing.weighted import WeightedVariant, random_choice, sticky_choice


@dataclass(frozen=True)
class RouteChoice:
    decision: RouteDecision
    fallbacks: tuple[str, ...] = ()


class RoutingTable:
    """Built from the router's user_config; replaced whole on every live change."""

    def __init__(self, config: RoutingConfig | None = None, rng: random.Random | None = None):
        self.config = config or RoutingConfig()
        self._routes: dict[str, RouteConfig] = {route.name: route for route in self.config.routes}
        # Built once per table, not per request: the decision is on every request's path.
        self._variants = {
            route.name: [WeightedVariant(v.name, v.model, v.weight) for v in route.variants]
            for route in self.config.routes
        }
        self._rng = rng or random.Random()

    @property
    def aliases(self) -> list[str]:
        return sorted(self._routes)

    @property
    def max_attempts(self) -> int:
        return self.config.max_attempts

    def route(self, name: str) -> RouteConfig | None:
        return self._routes.get(name)

    def route_cards(self) -> list[dict[str, object]]:
        """OpenAI ``model`` objects for the aliases, so clients can discover them."""
        return [
            {
                "id": route.name,
                "object": "model",
                "owned_by": "llm-fleet",
                "metadata": {
                    "route": route.kind,
                    "description": route.description,
                    "variants": [v.model_dump() for v in route.variants],
                    "fallbacks": list(route.fallbacks),
                },
            }
            for route in sorted(self._routes.values(), key=lambda r: r.name)
        ]

    def choose(self, hints: RoutingHints) -> RouteChoice | None:
        """The choice for a request that names a route; None when it names no route."""
        route = self._routes.get(hints.model)
        if route is None:
            return None
        variants = self._variants[route.name]
        total = sum(v.weight for v in variants)
        if hints.routing_key:
            variant = sticky_choice(variants, route.experiment_salt, hints.routing_key)
            how = "sticky split by routing key"
        else:
            variant = random_choice(variants, self._rng)
            how = "random split (no routing key)"
        decision = RouteDecision(
            model=variant.model,
            route=route.name,
            variant=variant.name,
            reason=f"{how}: weight {variant.weight:g} of {total:g}",
        )
        return RouteChoice(decision=decision, fallbacks=tuple(route.fallbacks))
