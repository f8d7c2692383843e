"""Route configs: kinds, strictness, and errors that name the field."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from cluster.config import ConfigError, parse_config
from services.routing.config import (
    RoutingConfig,
    RulesRouteConfig,
    SemanticRouteConfig,
    SplitRouteConfig,
)

RULES = {
    "name": "smart",
    "kind": "rules",
    "rules": [{"name": "long", "model": "b", "match": {"min_prompt_tokens": 1000}}],
    "default": "a",
}
SEMANTIC = {
    "name": "topics",
    "kind": "semantic",
    "variants": [{"name": "billing", "model": "b", "utterances": ["where is my invoice"]}],
    "default": "a",
}


def routing(*routes: dict) -> RoutingConfig:
    return RoutingConfig.model_validate({"routes": list(routes)})


def error_of(*routes: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        routing(*routes)
    return str(caught.value)


def test_a_route_without_kind_is_a_split() -> None:
    (route,) = routing({"name": "chat", "variants": [{"name": "x", "model": "a"}]}).routes
    assert isinstance(route, SplitRouteConfig)
    assert route.kind == "split"


def test_each_kind_parses_to_its_class_and_survives_a_round_trip() -> None:
    config = routing(RULES, SEMANTIC)
    assert [type(route) for route in config.routes] == [RulesRouteConfig, SemanticRouteConfig]
    # The router receives routes as its user_config: dumped to JSON and validated again.
    assert RoutingConfig.model_validate(config.model_dump(mode="json")) == config


def test_referenced_models_cover_every_kind() -> None:
    split = {"name": "ab", "variants": [{"name": "x", "model": "s"}], "fallbacks": ["f"]}
    rules = {**RULES, "tokenizer": "t"}
    assert routing(split, rules, SEMANTIC).referenced_models() == {"s", "f", "a", "b", "t"}


def test_unknown_kind_lists_the_kinds() -> None:
    assert "expected one of: split, rules, semantic" in error_of({**RULES, "kind": "magic"})


@pytest.mark.parametrize("route", [RULES, SEMANTIC])
def test_default_is_required(route: dict) -> None:
    without = {key: value for key, value in route.items() if key != "default"}
    assert "default\n  Field required" in error_of(without)


@pytest.mark.parametrize("route", [RULES, SEMANTIC])
def test_unknown_fields_are_rejected(route: dict) -> None:
    assert "weights\n  Extra inputs are not permitted" in error_of({**route, "weights": [1]})


def rules_with(match: dict, **extra: object) -> dict:
    return {**RULES, "rules": [{"name": "r", "model": "b", "match": match}], **extra}


@pytest.mark.parametrize(
    ("match", "message"),
    [
        ({}, "match needs at least one condition"),
        ({"tenants": []}, "match needs at least one condition"),
        ({"min_prompt_tokens": 10, "max_prompt_tokens": 5}, "exceeds max_prompt_tokens"),
        ({"min_prompt_tokens": -1}, "greater than or equal to 0"),
        ({"labels": {"Tier": "gold"}}, "label keys must be lower case: Tier"),
        ({"features": ["video"]}, "'tools', 'json', 'logprobs', 'stream' or 'images'"),
        ({"tenant": ["a"]}, "Extra inputs are not permitted"),
    ],
)
def test_bad_matches_are_rejected(match: dict, message: str) -> None:
    assert message in error_of(rules_with(match))


def test_rule_names_are_unique_and_default_is_reserved() -> None:
    rule = {"name": "r", "model": "b", "match": {"tenants": ["x"]}}
    assert "repeated: r" in error_of({**RULES, "rules": [rule, rule]})
    assert "reserved" in error_of({**RULES, "rules": [{**rule, "name": "default"}]})


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ({"utterances": []}, "at least 1 item"),
        ({"utterances": ["   "]}, "at least 1 character"),
        ({"utterances": None}, "valid list"),
    ],
)
def test_semantic_variants_need_utterances(variant: dict, message: str) -> None:
    variants = [{"name": "billing", "model": "b", **variant}]
    assert message in error_of({**SEMANTIC, "variants": variants})


def test_semantic_threshold_is_a_cosine_and_utterances_belong_to_one_variant() -> None:
    assert "less than or equal to 1" in error_of({**SEMANTIC, "threshold": 1.5})
    same = [
        {"name": "one", "model": "b", "utterances": ["hello"]},
        {"name": "two", "model": "a", "utterances": ["hello"]},
    ]
    assert "'hello' is in both 'one' and 'two'" in error_of({**SEMANTIC, "variants": same})


def cluster_yaml(route: dict) -> str:
    models = [
        {"name": "a", "source": "zoo:tiny-qwen2"},
        {"name": "b", "source": "zoo:tiny-mistral"},
    ]
    return yaml.safe_dump({"models": models, "routes": [route]})


TENANT_T = {"tenants": ["t"]}


@pytest.mark.parametrize(
    ("route", "unknown"),
    [
        (rules_with(TENANT_T) | {"rules": [{"name": "x", "model": "c", "match": TENANT_T}]}, "c"),
        (rules_with(TENANT_T, default="z", tokenizer="t"), "t, z"),
        (SEMANTIC | {"fallbacks": ["f"]}, "f"),
    ],
)
def test_cluster_config_rejects_routes_to_models_it_does_not_serve(
    route: dict, unknown: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(cluster_yaml(route))
    assert f"(name: {route['name']}): names models that are not served: {unknown}" in str(
        caught.value
    )


def test_cluster_config_errors_name_the_field_without_the_kind_tag() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(cluster_yaml(rules_with({})), "cluster.yaml")
    assert "routes[0] (name: smart).rules[0] (name: r).match: " in str(caught.value)
