"""The policy of rules routes: the first rule whose conditions all hold picks the model.

Cheap conditions (tenant, labels, features) are checked before prompt length, and the
prompt is tokenized at most once per decision, only when a rule with a token bound is
reached with its other conditions met.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.policy import PolicyServices, RoutingDependencyError
from services.routing.route_base import DEFAULT_VARIANT
from services.routing.rules_config import RuleConfig, RulesRouteConfig
from services.routing.tokens import TokenCounter


@dataclass(frozen=True)
class _CompiledRule:
    """A rule in the shape its check needs, with the fixed parts of its reason prebuilt."""

    name: str
    model: str
    tenants: frozenset[str]
    labels: tuple[tuple[str, str], ...]
    features: frozenset[str]
    min_tokens: int | None
    max_tokens: int | None
    labels_reason: str
    features_reason: str

    @classmethod
    def of(cls, rule: RuleConfig) -> _CompiledRule:
        match = rule.match
        labels = tuple(sorted(match.labels.items()))
        return cls(
            name=rule.name,
            model=rule.model,
            tenants=frozenset(match.tenants),
            labels=labels,
            features=frozenset(match.features),
            min_tokens=match.min_prompt_tokens,
            max_tokens=match.max_prompt_tokens,
            labels_reason="labels " + ", ".join(f"{key}={value}" for key, value in labels),
            features_reason="features " + ", ".join(sorted(match.features)) + " requested",
        )

    @property
    def counts_tokens(self) -> bool:
        return self.min_tokens is not None or self.max_tokens is not None

    def untokenized_reasons(
        self, tenant: str | None, labels: dict[str, str], features: frozenset[str]
    ) -> list[str] | None:
        """Why the rule's conditions other than prompt length hold; None when one fails."""
        reasons = []
        if self.tenants:
            if tenant not in self.tenants:
                return None
            reasons.append(f"tenant '{tenant}'")
        if self.labels:
            if any(labels.get(key) != value for key, value in self.labels):
                return None
            reasons.append(self.labels_reason)
        if self.features:
            if not self.features <= features:
                return None
            reasons.append(self.features_reason)
        return reasons

    def token_reason(self, tokens: int) -> str | None:
        """Why the prompt length is within bounds; None when it is not."""
        reasons = []
        if self.min_tokens is not None:
            if tokens < self.min_tokens:
                return None
            reasons.append(f"{tokens} prompt tokens >= {self.min_tokens}")
        if self.max_tokens is not None:
            if tokens > self.max_tokens:
                return None
            reasons.append(f"{tokens} prompt tokens <= {self.max_tokens}")
        return ", ".join(reasons)


class RulesPolicy:
    def __init__(self, route: RulesRouteConfig, services: PolicyServices) -> None:
        self._route = route
        self._rules = [_CompiledRule.of(rule) for rule in route.rules]
        self._counter = services.token_counter
        self._counts_tokens = route.counts_tokens
        self._reads_labels = any(rule.labels for rule in self._rules)

    async def decide(self, hints: RoutingHints, facts: RequestFacts) -> RouteDecision:
        if self._counts_tokens:
            # Checked on every request, not only when such a rule is reached, so the
            # misconfiguration shows at once instead of for some requests only.
            self._require_counter()
        # gRPC label keys keep their case; HTTP header names arrive lower-cased.
        labels = {k.lower(): v for k, v in hints.labels.items()} if self._reads_labels else {}
        tokens: int | None = None
        for rule in self._rules:
            reasons = rule.untokenized_reasons(hints.tenant, labels, facts.features)
            if reasons is None:
                continue
            if rule.counts_tokens:
                if tokens is None:
                    counter = self._require_counter()
                    tokens = await counter.count(self._route.tokenizer_model, facts)
                bound = rule.token_reason(tokens)
                if bound is None:
                    continue
                reasons.append(bound)
            matched = f"rule '{rule.name}' matched: {'; '.join(reasons)}"
            return self._decision(rule.model, rule.name, matched)
        counted = f" ({tokens} prompt tokens)" if tokens is not None else ""
        return self._decision(self._route.default, DEFAULT_VARIANT, f"no rule matched{counted}")

    def _require_counter(self) -> TokenCounter:
        if self._counter is None:
            raise RoutingDependencyError(
                f"route '{self._route.name}' has prompt-length rules but the router has no "
                "token counter"
            )
        return self._counter

    def _decision(self, model: str, variant: str, reason: str) -> RouteDecision:
        return RouteDecision(model=model, route=self._route.name, variant=variant, reason=reason)

    def describe(self) -> dict[str, object]:
        return {
            "rules": [rule.model_dump(exclude_defaults=True) for rule in self._route.rules],
            "default": self._route.default,
            "tokenizer": self._route.tokenizer_model if self._counts_tokens else None,
        }
