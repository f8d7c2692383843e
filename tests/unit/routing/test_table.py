import random

import pytest

from services.router.types import RequestFacts, RoutingHints
from services.routing.config import RoutingConfig
from services.routing.policy import RoutingDependencyError
from services.routing.table import RoutingTable

NO_FACTS = RequestFacts()

CONFIG = RoutingConfig.model_validate(
    {
        "routes": [
            {
                "name": "chat",
                "variants": [
                    {"name": "control", "model": "a", "weight": 90},
                    {"name": "treatment", "model": "b", "weight": 10},
                ],
                "fallbacks": ["c"],
            },
            {
                "name": "by-tenant",
                "kind": "rules",
                "rules": [{"name": "vip", "model": "b", "match": {"tenants": ["vip"]}}],
                "default": "a",
                "fallbacks": ["c"],
            },
            {
                "name": "long",
                "kind": "rules",
                "rules": [{"name": "long", "model": "b", "match": {"min_prompt_tokens": 100}}],
                "default": "a",
            },
            {
                "name": "topics",
                "kind": "semantic",
                "variants": [{"name": "billing", "model": "b", "utterances": ["my invoice"]}],
                "default": "a",
            },
        ]
    }
)


async def test_a_model_name_is_not_a_route() -> None:
    assert await RoutingTable(CONFIG).choose(RoutingHints(model="a"), NO_FACTS) is None


async def test_keyed_choice_is_sticky_and_explained() -> None:
    table = RoutingTable(CONFIG)
    first = await table.choose(RoutingHints(model="chat", routing_key="user-7"), NO_FACTS)
    again = await table.choose(RoutingHints(model="chat", routing_key="user-7"), NO_FACTS)
    assert first == again
    assert first.decision.route == "chat"
    assert first.decision.variant in {"control", "treatment"}
    assert "sticky" in first.decision.reason
    assert first.fallbacks == ("c",)


async def test_unkeyed_choice_is_random_by_weight() -> None:
    choice = await RoutingTable(CONFIG, random.Random(1)).choose(
        RoutingHints(model="chat"), NO_FACTS
    )
    assert "random" in choice.decision.reason


async def test_every_kind_dispatches_to_its_policy_and_keeps_its_fallbacks() -> None:
    choice = await RoutingTable(CONFIG).choose(
        RoutingHints(model="by-tenant", tenant="vip"), NO_FACTS
    )
    assert (choice.decision.model, choice.decision.variant) == ("b", "vip")
    assert choice.fallbacks == ("c",)


@pytest.mark.parametrize(("route", "needs"), [("long", "token counter"), ("topics", "embedder")])
async def test_a_route_without_its_service_fails_with_a_clear_error(route: str, needs: str) -> None:
    facts = RequestFacts(text="where is my invoice", prompts=("where is my invoice",))
    with pytest.raises(RoutingDependencyError, match=f"route '{route}'.*no {needs}"):
        await RoutingTable(CONFIG).choose(RoutingHints(model=route), facts)


def test_route_cards_describe_every_kind() -> None:
    cards = {card["id"]: card["metadata"] for card in RoutingTable(CONFIG).route_cards()}
    assert list(cards) == ["by-tenant", "chat", "long", "topics"]
    assert [v["name"] for v in cards["chat"]["variants"]] == ["control", "treatment"]
    assert cards["chat"]["route"] == "split"
    assert cards["by-tenant"]["route"] == "rules"
    assert cards["by-tenant"]["rules"][0]["name"] == "vip"
    assert cards["by-tenant"]["default"] == "a"
    assert cards["by-tenant"]["fallbacks"] == ["c"]
    assert cards["long"]["tokenizer"] == "a"
    assert cards["topics"]["route"] == "semantic"
    assert cards["topics"]["variants"] == [{"name": "billing", "model": "b", "utterances": 1}]
    assert cards["topics"]["threshold"] == pytest.approx(0.3)
