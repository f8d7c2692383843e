"""Configuration of rules routes: ordered conditions on the request, first match wins."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from services.router.types import Feature
from services.routing.route_base import NAME_PATTERN, RouteBase, Strict, unique_names

TokenBound = Annotated[int, Field(ge=0)]


class RuleMatch(Strict):
    """Conditions a request must all meet; unset conditions are not checked."""

    tenants: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """The request's tenant is one of these (``x-fleet-tenant``, gRPC ``routing.tenant``)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Every one of these labels is on the request with this exact value
    (``x-fleet-label-<key>`` headers, gRPC ``routing.labels``); keys are lower case."""
    min_prompt_tokens: TokenBound | None = None
    """The prompt is at least this many tokens long (inclusive), as the route's tokenizer
    counts it with the chat template applied."""
    max_prompt_tokens: TokenBound | None = None
    """The prompt is at most this many tokens long (inclusive)."""
    features: list[Feature] = Field(default_factory=list)
    """The request asks for every one of these: tools, json, logprobs, stream, images."""

    @model_validator(mode="after")
    def _is_a_real_condition(self) -> RuleMatch:
        # A rule that matches everything silently shadows every rule after it: say so
        # instead, and point at `default`, which is what such a rule would mean.
        if not self.tenants and not self.labels and not self.features and not self.counts_tokens:
            raise ValueError(
                "match needs at least one condition (tenants, labels, min_prompt_tokens, "
                "max_prompt_tokens or features); for a catch-all use the route's `default`"
            )
        if (
            self.min_prompt_tokens is not None
            and self.max_prompt_tokens is not None
            and self.min_prompt_tokens > self.max_prompt_tokens
        ):
            raise ValueError(
                f"min_prompt_tokens ({self.min_prompt_tokens}) exceeds "
                f"max_prompt_tokens ({self.max_prompt_tokens})"
            )
        # Header names arrive lower-cased over HTTP, so a mixed-case key could never match.
        upper = sorted(key for key in self.labels if key != key.lower())
        if upper:
            raise ValueError(f"label keys must be lower case: {', '.join(upper)}")
        return self

    @property
    def counts_tokens(self) -> bool:
        return self.min_prompt_tokens is not None or self.max_prompt_tokens is not None


class RuleConfig(Strict):
    """One rule: when ``match`` holds, ``model`` serves the request."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    """Reported as the decision's variant, e.g. in ``x-fleet-variant``."""
    model: Annotated[str, Field(min_length=1)]
    """The served model that answers when the rule matches."""
    match: RuleMatch


class RulesRouteConfig(RouteBase):
    """Ordered rules on tenant, labels, prompt length and requested features."""

    kind: Literal["rules"] = "rules"
    rules: Annotated[list[RuleConfig], Field(min_length=1)]
    """Checked in order; the first rule whose match holds decides."""
    default: Annotated[str, Field(min_length=1)]
    """The served model for requests no rule matches."""
    tokenizer: Annotated[str, Field(min_length=1)] | None = None
    """The served model whose tokenizer counts prompt tokens; defaults to ``default``."""

    @model_validator(mode="after")
    def _rule_names_are_unique(self) -> RulesRouteConfig:
        unique_names([rule.name for rule in self.rules], "rule")
        return self

    @property
    def tokenizer_model(self) -> str:
        return self.tokenizer or self.default

    @property
    def counts_tokens(self) -> bool:
        return any(rule.match.counts_tokens for rule in self.rules)

    def chosen_models(self) -> set[str]:
        return {rule.model for rule in self.rules} | {self.default}

    def referenced_models(self) -> set[str]:
        # The tokenizer model must be served too: its tokenizer is found by its name.
        tokenizer = {self.tokenizer} if self.tokenizer else set()
        return super().referenced_models() | tokenizer
