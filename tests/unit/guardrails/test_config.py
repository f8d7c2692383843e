from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from services.guardrails.check_config import RegexCheckConfig
from services.guardrails.config import GuardrailsConfig

GOOD = """
default: baseline
policies:
  - name: baseline
    checks:
      - type: pii
        entities: [EMAIL, CREDIT_CARD]
        action: redact
      - type: secrets
        on: output
        fail: open
        timeout_ms: 5
  - name: strict
    checks:
      - type: regex
        name: internal
        patterns: {ticket: 'TCK-\\d{6}'}
        action: flag
      - type: keywords
        words: [project falcon]
      - type: max_prompt_tokens
        limit: 4096
routes:
  chat: strict
  tiny-phi3: baseline
tenants:
  acme: strict
"""


def load(document: dict[str, Any]) -> GuardrailsConfig:
    return GuardrailsConfig.model_validate(document)


def error_of(document: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        load(document)
    return str(caught.value)


def policy(*checks: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {"policies": [{"name": name, "checks": list(checks)}]}


def test_a_full_section_validates_from_yaml() -> None:
    config = load(yaml.safe_load(GOOD))
    secrets = config.policy("baseline").checks[1]
    # PyYAML reads a bare `on:` key as True; the config takes it as `on`.
    assert secrets.on == "output" and secrets.fail == "open"
    assert [c.check_name for c in config.policy("strict").checks] == [
        "internal",
        "keywords",
        "max_prompt_tokens",
    ]


def test_route_binding_beats_model_binding_then_default() -> None:
    config = load(yaml.safe_load(GOOD))
    assert [p.name for p in config.policies_for(route="chat", model="tiny-phi3")] == ["strict"]
    assert [p.name for p in config.policies_for(route="other", model="tiny-phi3")] == ["baseline"]
    assert [p.name for p in config.policies_for(route="other")] == ["baseline"]


def test_tenant_policy_runs_on_top_of_the_routes() -> None:
    config = load(yaml.safe_load(GOOD))
    names = [p.name for p in config.policies_for(route="tiny-phi3", tenant="acme")]
    assert names == ["baseline", "strict"]
    # Bound both ways, a policy runs once.
    assert [p.name for p in config.policies_for(route="chat", tenant="acme")] == ["strict"]
    outputs = config.checks_for("output", route="tiny-phi3", tenant="acme")
    assert [c.check_name for c in outputs] == ["pii", "secrets", "internal", "keywords"]
    inputs = config.checks_for("input", route="tiny-phi3", tenant="acme")
    assert "secrets" not in [c.check_name for c in inputs]
    assert "max_prompt_tokens" in [c.check_name for c in inputs]


def test_requested_policies_run_after_the_routes_and_the_tenants() -> None:
    config = load(yaml.safe_load(GOOD) | {"tenants": {}})
    names = [p.name for p in config.policies_for(route="tiny-phi3", requested=["strict"])]
    assert names == ["baseline", "strict"]
    # Asking for the route's own policy changes nothing; the order asked in does not count.
    asked = config.policies_for(route="chat", requested=["strict", "baseline"])
    assert [p.name for p in asked] == ["strict", "baseline"]
    again = config.policies_for(route="chat", requested=["baseline", "strict"])
    assert [p.name for p in again] == ["strict", "baseline"]


def test_no_binding_and_no_default_runs_nothing() -> None:
    config = load(policy({"type": "secrets"}))
    assert config.checks_for("input", route="chat", tenant="t") == []


def test_defaults_are_block_both_closed() -> None:
    check = load(policy({"type": "secrets"})).policies[0].checks[0]
    assert (check.on, check.action, check.fail, check.timeout_ms) == ("both", "block", "closed", 50)


@pytest.mark.parametrize(
    ("check", "names"),
    [
        ({"type": "regex", "patterns": {"bad_one": "(unclosed"}}, "patterns.bad_one"),
        ({"type": "regex", "patterns": {"empty": "a*"}}, "patterns.empty"),
        ({"type": "regex", "patterns": {"look": "(?<=card )\\d+"}}, "patterns.look"),
        ({"type": "regex", "patterns": {"has space": "x"}}, "patterns.has space"),
        ({"type": "regex", "patterns": {}}, "patterns"),
        ({"type": "max_prompt_tokens", "limit": 10, "action": "redact"}, "action"),
        ({"type": "max_prompt_tokens", "limit": 10, "on": "output"}, "on"),
        ({"type": "max_prompt_tokens", "limit": 0}, "limit"),
        ({"type": "keywords", "words": []}, "words"),
        ({"type": "pii", "entities": ["EMAIL_ADDRESS"]}, "entities"),
        ({"type": "pii", "entities": []}, "entities"),
        ({"type": "secrets", "action": "erase"}, "action"),
        ({"type": "secrets", "fail": "maybe"}, "fail"),
        ({"type": "secrets", "timeout_ms": 0}, "timeout_ms"),
        ({"type": "secrets", "entities": ["X"]}, "entities"),
        ({"type": "sentiment"}, "unknown check type"),
    ],
)
def test_bad_checks_are_refused_naming_the_field(check: dict[str, Any], names: str) -> None:
    assert names in error_of(policy(check))


def test_bad_regex_error_names_the_pattern() -> None:
    message = error_of(policy({"type": "regex", "patterns": {"ticket": "TCK-(\\d"}}))
    assert "patterns.ticket: not a valid regex" in message


def test_check_names_must_be_unique_in_a_policy() -> None:
    message = error_of(
        policy({"type": "regex", "patterns": {"a": "a"}}, {"type": "regex", "patterns": {"b": "b"}})
    )
    assert "checks: names must be unique" in message and "regex" in message
    load(
        policy(
            {"type": "regex", "patterns": {"a": "a"}},
            {"type": "regex", "name": "second", "patterns": {"b": "b"}},
        )
    )


@pytest.mark.parametrize(
    ("bindings", "field"),
    [
        ({"default": "missing"}, "default: unknown policy 'missing'"),
        ({"routes": {"chat": "missing"}}, "routes.chat: unknown policy 'missing'"),
        ({"tenants": {"acme": "missing"}}, "tenants.acme: unknown policy 'missing'"),
    ],
)
def test_bindings_must_name_defined_policies(bindings: dict[str, Any], field: str) -> None:
    message = error_of({**policy({"type": "secrets"}), **bindings})
    assert field in message and "defined: p" in message


def test_policy_names_are_unique_and_extra_keys_refused() -> None:
    twice = {"policies": [{"name": "a"}, {"name": "a"}]}
    assert "repeated: a" in error_of(twice)
    assert "extra_forbidden" in error_of({"policies": [], "rules": {}})


def test_config_is_frozen() -> None:
    check = RegexCheckConfig(patterns={"a": "a"})
    with pytest.raises(ValidationError):
        check.action = "flag"  # type: ignore[misc]


def test_a_binding_may_name_several_policies_run_in_order() -> None:
    config = GuardrailsConfig.model_validate(
        {
            "policies": [
                {"name": "a", "checks": [{"type": "secrets"}]},
                {"name": "b", "checks": [{"type": "keywords", "words": ["x"]}]},
            ],
            "default": ["a", "b"],
            "tenants": {"t": ["b"]},
        }
    )
    assert [p.name for p in config.policies_for(route="r", tenant="t")] == ["a", "b"]
    with pytest.raises(ValueError, match="routes.r: unknown policy 'c'"):
        GuardrailsConfig.model_validate({**config.model_dump(), "routes": {"r": ["a", "c"]}})
