"""What `fleet guardrails show|stats` print."""

from __future__ import annotations

from cluster.cli.guardrails import decision_lines, policy_lines
from services.guardrails.config import GuardrailsConfig

CONFIG = GuardrailsConfig.model_validate(
    {
        "policies": [
            {
                "name": "standard",
                "description": "the usual",
                "checks": [
                    {"type": "pii", "entities": ["EMAIL"], "action": "redact"},
                    {"type": "topics", "topics": {"weapons": ["a"] * 30}, "fail": "open"},
                ],
            },
            {"name": "judged", "checks": [{"type": "judge", "model": "guard"}]},
        ],
        "default": "standard",
        "routes": {"support": ["standard", "judged"]},
    }
)


def test_policies_list_each_check_and_every_binding() -> None:
    lines = policy_lines(CONFIG.model_dump(mode="json"))
    assert lines[0] == "standard: the usual"
    assert lines[1].split()[:7] == ["pii", "pii", "on", "both", "redact", "fail", "closed"]
    assert "weapons: [30 items]" in lines[2]
    assert lines[-2:] == ["default: standard", "route support: standard + judged"]


def test_no_policies_says_so() -> None:
    assert policy_lines(GuardrailsConfig().model_dump(mode="json")) == [
        "no guard policies: requests are not checked"
    ]


def test_decisions_are_a_table() -> None:
    decision = {"route": "chat", "check": "pii", "category": "EMAIL", "action": "redact"}
    lines = decision_lines({"decisions": [{**decision, "count": 3}]})
    assert lines[1].split() == ["chat", "pii", "EMAIL", "redact", "3"]
    assert decision_lines({"decisions": []}) == ["no guard decisions yet"]
