"""The routes section of a cluster config: aliases that callers name instead of a model.

Three kinds, told apart by ``kind``: ``split`` (weighted sticky A/B/n, the default when
``kind`` is left out), ``rules`` (first matching rule on tenant, labels, prompt length or
features) and ``semantic`` (nearest example prompts). The router deployment receives these
as its Ray Serve ``user_config``, so a change to them reconfigures the running router
without restarting any model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from services.router.breaker import CircuitBreakerConfig
from services.routing.route_base import NAME_PATTERN, RouteBase, Strict
from services.routing.rules_config import RuleConfig, RuleMatch, RulesRouteConfig
from services.routing.semantic_config import SemanticRouteConfig, SemanticVariantConfig


class VariantConfig(Strict):
    """One arm of an experiment."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    model: Annotated[str, Field(min_length=1)]
    """The served model that answers for this arm."""
    weight: Annotated[float, Field(ge=0)] = 1
    """Relative share of traffic; 0 keeps the arm defined but sends it nothing."""


class SplitRouteConfig(RouteBase):
    """A weighted A/B/n split, sticky per routing key."""

    kind: Literal["split"] = "split"
    variants: Annotated[list[VariantConfig], Field(min_length=1)]
    salt: str | None = None
    """Hashing salt for sticky assignment; defaults to the route name. Change it to
    reshuffle every key (a new experiment)."""

    @model_validator(mode="after")
    def _variants_are_sane(self) -> SplitRouteConfig:
        names = [variant.name for variant in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        if sum(variant.weight for variant in self.variants) <= 0:
            raise ValueError("at least one variant needs a positive weight")
        return self

    @property
    def experiment_salt(self) -> str:
        return self.salt or self.name

    def chosen_models(self) -> set[str]:
        return {variant.model for variant in self.variants}


ROUTE_KINDS = ("split", "rules", "semantic")
DEFAULT_MAX_REQUEST_BYTES = 1 << 20


def route_kind(value: Any) -> str:
    """The kind of a route given as a mapping or a model."""
    # Routes written before there were kinds carry no `kind`: they are splits.
    if isinstance(value, dict):
        return value.get("kind", "split")
    return getattr(value, "kind", "split")


RouteConfig = Annotated[
    Annotated[SplitRouteConfig, Tag("split")]
    | Annotated[RulesRouteConfig, Tag("rules")]
    | Annotated[SemanticRouteConfig, Tag("semantic")],
    Discriminator(
        route_kind,
        custom_error_type="route_kind",
        custom_error_message=f"unknown route kind; expected one of: {', '.join(ROUTE_KINDS)}",
    ),
]
"""Any route, told apart by its ``kind``."""


class RoutingConfig(Strict):
    """Everything the router needs to decide; its Ray Serve user_config."""

    routes: list[RouteConfig] = Field(default_factory=list)
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """Models tried per request at most, the first choice included."""
    first_token_timeout_s: Annotated[float, Field(gt=0)] = 60
    """How long one model may take to send its first item before the router gives up on
    it and tries the next in the chain (a deleted or hung deployment queues requests
    forever). Queueing counts: raise it when long queues are expected."""
    replica_retries: Annotated[int, Field(ge=0, le=5)] = 2
    """Times a request is sent to the same model again when a replica (or its engine) failed
    before sending anything; Ray Serve routes the retry to another replica, or to the one
    it restarts. Then the route's fallbacks take over."""
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)
    max_request_bytes: Annotated[int, Field(ge=1024)] = DEFAULT_MAX_REQUEST_BYTES
    """The largest HTTP request body; a larger one gets 413 before it is read whole."""

    def referenced_models(self) -> set[str]:
        return {model for route in self.routes for model in route.referenced_models()}


__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "ROUTE_KINDS",
    "RouteBase",
    "RouteConfig",
    "RoutingConfig",
    "RuleConfig",
    "RuleMatch",
    "RulesRouteConfig",
    "SemanticRouteConfig",
    "SemanticVariantConfig",
    "SplitRouteConfig",
    "VariantConfig",
    "route_kind",
]
