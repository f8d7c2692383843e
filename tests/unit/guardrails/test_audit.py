from __future__ import annotations

import json
import logging

import pytest

from services.guardrails.audit import AuditContext, GuardAudit, GuardStats, decision_events
from services.guardrails.outcome import GuardOutcome
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from services.guardrails.stream import StreamGuard
from tests.unit.guardrails.fakes import CardCheck, RaisingCheck, WordCheck

CARD = "4929123456781234"
SECRET = "hunter2-zebra"
CONTEXT = AuditContext(request_id="req-1", route="chat", tenant="acme")


def outcome_with_everything() -> GuardOutcome:
    pipeline = GuardPipeline(
        [
            GuardedCheck(RaisingCheck("secrets"), fail="open"),
            GuardedCheck(CardCheck(), "redact"),
            GuardedCheck(WordCheck("kw", SECRET, "KEYWORD"), "flag"),
        ],
        "input",
    )
    return pipeline.scan(f"card {CARD} and {CARD}, password {SECRET}")


def test_one_event_per_check_category_action_with_counts() -> None:
    events = decision_events(outcome_with_everything(), CONTEXT)
    assert [(e["check"], e["category"], e["action"], e["count"]) for e in events] == [
        ("kw", "KEYWORD", "flag", 1),
        ("pii", "CREDIT_CARD", "redact", 2),
        ("secrets", "CHECK_FAILED", "fail_open", 1),
    ]
    assert {(e["route"], e["tenant"], e["request_id"], e["direction"]) for e in events} == {
        ("chat", "acme", "req-1", "input")
    }


def test_events_name_the_policies_the_request_asked_for() -> None:
    asked = AuditContext(
        request_id="req-1", route="chat", policies=("standard", "strict"), requested=("strict",)
    )
    events = decision_events(outcome_with_everything(), asked)
    assert {(tuple(e["policies"]), tuple(e["requested_policies"])) for e in events} == {
        (("standard", "strict"), ("strict",))
    }
    assert all(
        e["requested_policies"] == [] for e in decision_events(outcome_with_everything(), CONTEXT)
    )


def test_events_are_logged_as_json_without_the_sensitive_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    audit = GuardAudit()
    with caplog.at_level(logging.INFO, logger="llm_fleet.guardrails.audit"):
        events = audit.record(outcome_with_everything(), CONTEXT)
    assert len(caplog.records) == len(events) == 3
    for record in caplog.records:
        assert json.loads(record.getMessage()) == record.guardrail  # type: ignore[attr-defined]
    logged = caplog.text + json.dumps(events)
    assert CARD not in logged and SECRET not in logged and "hunter2" not in logged
    assert caplog.records[-1].levelno == logging.WARNING  # the failed check


def test_blocks_are_counted_and_the_snapshot_is_keyed_by_route_check_category_action() -> None:
    stats = GuardStats()
    audit = GuardAudit(stats)
    blocker = GuardPipeline([GuardedCheck(CardCheck(), "block")], "output")
    for _ in range(2):
        audit.record(blocker.scan(f"x {CARD}"), CONTEXT)
    audit.record(blocker.scan("clean"), CONTEXT)
    assert stats.snapshot() == {
        "decisions": [
            {
                "route": "chat",
                "check": "pii",
                "category": "CREDIT_CARD",
                "action": "block",
                "count": 2,
            }
        ]
    }


async def test_a_stream_summary_is_audited_once() -> None:
    stream = StreamGuard(GuardPipeline([GuardedCheck(CardCheck(), "redact")], "output"))
    for char in f"number {CARD} ok":
        await stream.feed(char)
    await stream.finish()
    events = decision_events(stream.summary(), CONTEXT)
    assert [(e["action"], e["count"], e["direction"]) for e in events] == [("redact", 1, "output")]
    assert CARD not in json.dumps(events)
