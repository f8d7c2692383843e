"""The policy of split routes: weighted A/B/n, sticky per routing key."""

from __future__ import annotations

from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.config import SplitRouteConfig
from services.routing.policy import PolicyServices
from services.routing.weighted import WeightedVariant, random_choice, sticky_choice


class SplitPolicy:
    def __init__(self, route: SplitRouteConfig, services: PolicyServices) -> None:
        self._route = route
        self._rng = services.rng
        self._variants = [WeightedVariant(v.name, v.model, v.weight) for v in route.variants]
        self._total = sum(v.weight for v in self._variants)

    async def decide(self, hints: RoutingHints, facts: RequestFacts) -> RouteDecision:
        if hints.routing_key:
            variant = sticky_choice(self._variants, self._route.experiment_salt, hints.routing_key)
            how = "sticky split by routing key"
        else:
            variant = random_choice(self._variants, self._rng)
            how = "random split (no routing key)"
        return RouteDecision(
            model=variant.model,
            route=self._route.name,
            variant=variant.name,
            reason=f"{how}: weight {variant.weight:g} of {self._total:g}",
        )

    def describe(self) -> dict[str, object]:
        return {
            "variants": [v.model_dump() for v in self._route.variants],
            "salt": self._route.experiment_salt,
        }
