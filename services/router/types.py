"""Typed values passed between the transports and the router core."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RoutingHints:
    """What the caller says about where its request should go.

    ``model`` is a served model's name or (later) an alias; the other fields feed
    sticky A/B assignment, per-tenant rules and label matches.
    """

    model: str
    routing_key: str | None = None
    tenant: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteDecision:
    """Which model serves a request, and why.

    ``route`` and ``variant`` stay empty while the request named a model directly.
    """

    model: str
    route: str = ""
    variant: str = ""
    reason: str = "requested by name"
