"""Typed values passed between the transports and the router core."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class RoutingHints:
    """What the caller says about where its request should go.

    ``model`` is a served model's name or an alias; ``routing_key``, ``tenant`` and
    ``labels`` feed sticky A/B assignment, per-tenant rules and label matches.
    """

    model: str
    routing_key: str | None = None
    tenant: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    guard_policies: tuple[str, ...] = ()
    """Guard policies the request asks for on top of its route's and tenant's
    (``x-fleet-guard-policy``); its tenant must be allowed each."""
    timeout_s: float | None = None
    """The caller's deadline, from arrival (``x-fleet-timeout-ms``); None: only the
    router's own limits apply."""


Feature = Literal["tools", "json", "logprobs", "stream", "images"]
"""What a request asks of the model beyond plain text generation (see ``router.facts``)."""


@dataclass(frozen=True)
class RequestFacts:
    """What routing policies may read from the request body, extracted once per request.

    ``text`` is the prompt text semantic routes embed; ``messages`` and ``tools`` (chat) or
    ``prompts`` (completions) are what a tokenizer counts for prompt-length rules.
    """

    text: str = ""
    features: frozenset[Feature] = frozenset()
    messages: tuple[Mapping[str, Any], ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    prompts: tuple[str | tuple[int, ...], ...] = ()

    @property
    def is_chat(self) -> bool:
        return bool(self.messages)


@dataclass(frozen=True)
class RouteDecision:
    """Which model serves a request, and why.

    ``route`` and ``variant`` stay empty while the request named a model directly.
    """

    model: str
    route: str = ""
    variant: str = ""
    reason: str = "requested by name"
