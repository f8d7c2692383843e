from services.router.types import RoutingHints
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable

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
            }
        ]
    }
)


def test_a_model_name_is_not_a_route() -> None:
    assert RoutingTable(CONFIG).choose(RoutingHints(model="a")) is None


def test_keyed_choice_is_sticky_and_explained() -> None:
    table = RoutingTable(CONFIG)
    first = table.choose(RoutingHints(model="chat", routing_key="user-7"))
    again = table.choose(RoutingHints(model="chat", routing_key="user-7"))
    assert first == again
    assert first.decision.route == "chat"
    assert first.decision.variant in {"control", "treatment"}
    assert "sticky" in first.decision.reason
    assert first.fallbacks == ("c",)


def test_unkeyed_choice_is_random_by_weight() -> None:
    choice = RoutingTable(CONFIG).choose(RoutingHints(model="chat"))
    assert "random" in choice.decision.reason


def test_route_cards_describe_aliases() -> None:
    (card,) = RoutingTable(CONFIG).route_cards()
    assert card["id"] == "chat"
    assert [v["name"] for v in card["metadata"]["variants"]] == ["control", "treatment"]
