"""Rules routes: order, each condition kind, the default, and when tokens are counted."""

from __future__ import annotations

import random

import pytest

from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.config import RulesRouteConfig
from services.routing.policy import PolicyServices
from services.routing.rules import RulesPolicy
from tests.unit.routing.fakes import FixedTokenCounter


def policy(*rules: dict, counter: FixedTokenCounter | None = None, **extra: object) -> RulesPolicy:
    route = RulesRouteConfig.model_validate(
        {"name": "smart", "rules": list(rules), "default": "small", **extra}
    )
    return RulesPolicy(route, PolicyServices(rng=random.Random(0), token_counter=counter))


def rule(name: str, model: str = "big", **match: object) -> dict:
    return {"name": name, "model": model, "match": match}


NO_FACTS = RequestFacts()


async def decide(
    rules: RulesPolicy, facts: RequestFacts = NO_FACTS, **hints: object
) -> RouteDecision:
    return await rules.decide(RoutingHints(model="smart", **hints), facts)


async def test_first_matching_rule_wins() -> None:
    rules = policy(
        rule("gold", "gold-model", tenants=["acme"]),
        rule("acme-any", "acme-model", tenants=["acme", "beta"]),
    )
    first = await decide(rules, tenant="acme")
    assert (first.model, first.route, first.variant) == ("gold-model", "smart", "gold")
    second = await decide(rules, tenant="beta")
    assert (second.model, second.variant) == ("acme-model", "acme-any")
    assert second.reason == "rule 'acme-any' matched: tenant 'beta'"


async def test_no_match_takes_the_default() -> None:
    decision = await decide(policy(rule("gold", tenants=["acme"])), tenant="other")
    assert (decision.model, decision.variant, decision.reason) == (
        "small",
        "default",
        "no rule matched",
    )


async def test_labels_must_all_be_equal_and_keys_ignore_case() -> None:
    rules = policy(rule("eu-gold", labels={"region": "eu", "tier": "gold"}))
    matched = await decide(rules, labels={"Region": "eu", "tier": "gold", "extra": "x"})
    assert matched.reason == "rule 'eu-gold' matched: labels region=eu, tier=gold"
    assert (await decide(rules, labels={"region": "eu"})).variant == "default"
    assert (await decide(rules, labels={"region": "us", "tier": "gold"})).variant == "default"


async def test_features_must_all_be_requested() -> None:
    rules = policy(rule("structured", features=["tools", "json"]))
    both = RequestFacts(features=frozenset({"tools", "json", "stream"}))
    decision = await decide(rules, both)
    assert decision.reason == "rule 'structured' matched: features json, tools requested"
    only_tools = RequestFacts(features=frozenset({"tools"}))
    assert (await decide(rules, only_tools)).variant == "default"


async def test_all_conditions_of_a_rule_must_hold() -> None:
    rules = policy(rule("acme-stream", tenants=["acme"], features=["stream"]))
    streamed = RequestFacts(features=frozenset({"stream"}))
    assert (await decide(rules, streamed, tenant="acme")).variant == "acme-stream"
    assert (await decide(rules, streamed, tenant="beta")).variant == "default"
    assert (await decide(rules, tenant="acme")).variant == "default"


@pytest.mark.parametrize(
    ("tokens", "variant", "reason"),
    [
        (5000, "long", "rule 'long' matched: 5000 prompt tokens >= 1000"),
        (1000, "long", "rule 'long' matched: 1000 prompt tokens >= 1000"),
        (300, "short", "rule 'short' matched: 300 prompt tokens <= 512"),
        (512, "short", "rule 'short' matched: 512 prompt tokens <= 512"),
        (700, "default", "no rule matched (700 prompt tokens)"),
    ],
)
async def test_token_bounds_are_inclusive(tokens: int, variant: str, reason: str) -> None:
    rules = policy(
        rule("long", min_prompt_tokens=1000),
        rule("short", "tiny", max_prompt_tokens=512),
        counter=FixedTokenCounter(tokens),
    )
    decision = await decide(rules)
    assert (decision.variant, decision.reason) == (variant, reason)


async def test_both_bounds_make_a_window() -> None:
    window = rule("mid", min_prompt_tokens=100, max_prompt_tokens=200)
    for tokens, variant in [(99, "default"), (150, "mid"), (201, "default")]:
        rules = policy(window, counter=FixedTokenCounter(tokens))
        assert (await decide(rules)).variant == variant


async def test_tokens_are_counted_once_and_only_when_a_bounded_rule_is_reached() -> None:
    counter = FixedTokenCounter(2000)
    rules = policy(
        rule("vip", tenants=["vip"]),
        rule("long", min_prompt_tokens=1000, tenants=["acme", "beta"]),
        rule("longer", min_prompt_tokens=1500),
        counter=counter,
    )
    await decide(rules, tenant="vip")
    assert counter.calls == []  # matched before any rule with a bound
    decision = await decide(rules, tenant="other")
    assert decision.variant == "longer"
    assert counter.calls == ["small"]  # once, with the default model's tokenizer
    decision = await decide(rules, tenant="acme")
    assert decision.reason == "rule 'long' matched: tenant 'acme'; 2000 prompt tokens >= 1000"


async def test_the_tokenizer_model_can_be_named() -> None:
    counter = FixedTokenCounter(10)
    rules = policy(rule("long", min_prompt_tokens=5), counter=counter, tokenizer="big")
    await decide(rules)
    assert counter.calls == ["big"]
