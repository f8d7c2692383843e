"""GuardPolicies: the pipelines of each combination of policies, built once."""

from __future__ import annotations

from services.guardrails.config import GuardrailsConfig
from services.guardrails.policies import GuardPolicies, RequestGuards

CONFIG = GuardrailsConfig.model_validate(
    {
        "policies": [
            {"name": "base", "checks": [{"type": "keywords", "words": ["x"], "action": "flag"}]},
            {"name": "extra", "checks": [{"type": "keywords", "name": "more", "words": ["y"]}]},
            {"name": "other", "checks": [{"type": "keywords", "name": "else", "words": ["z"]}]},
        ],
        "default": "base",
    }
)


def test_a_requested_policy_adds_its_checks_to_the_routes() -> None:
    policies = GuardPolicies(CONFIG)

    guards = policies.for_request(route="chat", model="alpha", tenant=None, requested=["extra"])

    assert guards is not None
    assert guards.policies == ("base", "extra")
    assert [check.name for check in guards.input.checks] == ["keywords", "more"]


def test_the_cache_keys_on_the_requested_policies_too() -> None:
    policies = GuardPolicies(CONFIG)

    def asking(*requested: str) -> RequestGuards | None:
        return policies.for_request(route="chat", model="alpha", tenant=None, requested=requested)

    plain, extra, both = asking(), asking("extra"), asking("other", "extra")

    assert len({id(plain), id(extra), id(both)}) == 3
    # The same request again, or the same set in another order: the same pipelines.
    assert asking("extra") is extra
    assert asking("extra", "other") is both


def test_names_are_the_defined_policies() -> None:
    assert GuardPolicies(CONFIG).names == frozenset({"base", "extra", "other"})
