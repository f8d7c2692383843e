"""The routes section of a cluster config: aliases that callers name instead of a model.

The router deployment receives these as its Ray Serve ``user_config``, so a change
to them reconfigures the running router without restarting any model.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariantConfig(_Strict):
    """One arm of an experiment."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    model: Annotated[str, Field(min_length=1)]
    """The served model that answers for this arm."""
    weight: Annotated[float, Field(ge=0)] = 1
    """Relative share of traffic; 0 keeps the arm defined but sends it nothing."""


class SplitRouteConfig(_Strict):
    """A weighted A/B/n split, sticky per routing key."""

    kind: Literal["split"] = "split"
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    """The alias callers put in ``model``."""
    variants: Annotated[list[VariantConfig], Field(min_length=1)]
    salt: str | None = None
    """Hashing salt for sticky assignment; defaults to the route name. Change it to
    reshuffle every key (a new experiment)."""
    fallbacks: list[str] = Field(default_factory=list)
    """Models tried in order when the chosen one is missing, overloaded or fails
    before its first token."""
    description: str = ""

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


# Rules and semantic routes join this as a discriminated union on `kind`.
RouteConfig = SplitRouteConfig


class RoutingConfig(_Strict):
    """Everything the router needs to decide; its Ray Serve user_config."""

    routes: list[RouteConfig] = Field(default_factory=list)
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """Models tried per request at most, the first choice included."""

    def referenced_models(self) -> set[str]:
        return {
            model
            for route in self.routes
            for model in [*(v.model for v in route.variants), *route.fallbacks]
        }
