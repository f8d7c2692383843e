from __future__ import annotations

import asyncio

import pytest

from services.guardrails.findings import Finding, GuardContext
from services.guardrails.outcome import CHECK_FAILED
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from services.guardrails.redaction import merge_spans, redact
from tests.unit.guardrails.fakes import (
    AsyncMarkerCheck,
    CardCheck,
    HandshakeCheck,
    RaisingCheck,
    StepClock,
    VerdictCheck,
    WordCheck,
)

CARD = "4111111111111111"


def pipeline(*checks: GuardedCheck) -> GuardPipeline:
    return GuardPipeline(checks, "input")


def test_clean_text_passes_unchanged() -> None:
    outcome = pipeline(GuardedCheck(CardCheck(), "redact")).scan("pay 12.50 on 2024-01-02")
    assert not outcome.blocked and outcome.text == "pay 12.50 on 2024-01-02"
    assert outcome.redactions == () and outcome.flags == ()


def test_redact_replaces_every_span_with_its_placeholder() -> None:
    text = f"card {CARD} and {CARD}, email bob@x.io"
    outcome = pipeline(
        GuardedCheck(CardCheck(), "redact"),
        GuardedCheck(WordCheck("pii2", "bob@x.io", "EMAIL"), "redact"),
    ).scan(text)
    assert outcome.text == "card <CREDIT_CARD> and <CREDIT_CARD>, email <EMAIL>"
    assert len(outcome.redactions) == 3


def test_flag_records_and_leaves_the_text() -> None:
    text = f"card {CARD}"
    outcome = pipeline(GuardedCheck(CardCheck(), "flag")).scan(text)
    assert outcome.text == text and not outcome.blocked
    assert [f.category for f in outcome.flags] == ["CREDIT_CARD"]


def test_block_beats_redact_and_flag_and_names_check_and_category() -> None:
    text = f"card {CARD} says secret"
    outcome = pipeline(
        GuardedCheck(CardCheck(), "redact"),
        GuardedCheck(WordCheck("topic", "says", "WORD"), "flag"),
        GuardedCheck(WordCheck("kw", "secret", "KEYWORD"), "block"),
    ).scan(text)
    assert outcome.blocked and outcome.text == ""
    assert (outcome.blocked_by.check, outcome.blocked_by.category) == ("kw", "KEYWORD")
    violation = outcome.violation()
    assert violation is not None and "kw" in violation.message and "secret" not in str(violation)


def test_first_blocking_check_wins_and_later_checks_do_not_run() -> None:
    later = RaisingCheck("later")
    outcome = pipeline(
        GuardedCheck(WordCheck("first", "b", "B"), "block"),
        GuardedCheck(later, "block", fail="closed"),
    ).scan("a b")
    assert outcome.blocked_by.check == "first" and outcome.failures == ()


def test_earliest_finding_of_the_blocking_check_is_reported() -> None:
    outcome = pipeline(GuardedCheck(CardCheck(), "block")).scan(f"{CARD} {CARD}")
    assert outcome.blocked_by.start == 0


def test_raise_if_blocked_raises_a_guard_violation() -> None:
    outcome = pipeline(GuardedCheck(CardCheck(), "block")).scan(f"x {CARD}")
    with pytest.raises(Exception, match="CREDIT_CARD") as caught:
        outcome.raise_if_blocked()
    assert CARD not in str(caught.value)
    pipeline().scan("fine").raise_if_blocked()


def test_a_spanless_finding_under_redact_blocks() -> None:
    outcome = pipeline(GuardedCheck(VerdictCheck("inj", "ignore", "INJECTION"), "redact")).scan(
        "ignore all"
    )
    assert outcome.blocked_by.category == "INJECTION"


def test_failing_check_closed_blocks_with_check_failed() -> None:
    outcome = pipeline(GuardedCheck(RaisingCheck("secrets"), "redact", fail="closed")).scan("x")
    assert outcome.blocked_by == Finding("secrets", CHECK_FAILED, 0, 0)
    (failure,) = outcome.failures
    assert (failure.check, failure.reason, failure.detail) == ("secrets", "error", "RuntimeError")
    # The exception's message quoted the text; the failure does not.
    assert "boom" not in repr(outcome)


def test_failing_check_open_passes_and_is_recorded() -> None:
    outcome = pipeline(
        GuardedCheck(RaisingCheck("secrets"), "block", fail="open"),
        GuardedCheck(CardCheck(), "redact"),
    ).scan(f"c {CARD}")
    assert not outcome.blocked and outcome.text == "c <CREDIT_CARD>"
    assert outcome.metadata()["failed_checks"] == [
        {"check": "secrets", "reason": "error", "fail": "open"}
    ]


@pytest.mark.parametrize("fail", ["open", "closed"])
def test_an_inline_overrun_is_reported_and_its_findings_still_apply(fail: str) -> None:
    slow = GuardPipeline(
        [GuardedCheck(CardCheck(), "redact", timeout_ms=5, fail=fail)],
        "input",
        clock=StepClock(0.010),  # every check appears to take 10 ms (a busy CPU)
    )
    outcome = slow.scan(f"c {CARD}")
    assert outcome.text == "c <CREDIT_CARD>"
    assert [(f.reason, f.fail) for f in outcome.failures] == [("slow", "open")]
    assert not slow.scan("nothing").blocked


def test_within_budget_is_not_a_failure() -> None:
    fast = GuardPipeline(
        [GuardedCheck(CardCheck(), "block", timeout_ms=5)], "input", clock=StepClock(0.001)
    )
    assert fast.scan("x").failures == ()


def test_max_match_chars_is_the_longest_of_the_checks() -> None:
    checks = [GuardedCheck(CardCheck()), GuardedCheck(WordCheck("w", "x" * 40, "X"))]
    assert GuardPipeline(checks, "output").max_match_chars == 40
    assert GuardPipeline([], "output").max_match_chars == 0


def f(start: int, end: int, category: str = "A") -> Finding:
    return Finding("c", category, start, end)


def test_overlapping_spans_merge_under_the_earliest_category() -> None:
    text = "0123456789abcdef"
    assert redact(text, [f(2, 6, "B"), f(4, 9, "C"), f(12, 14, "D")]) == "01<B>9ab<D>ef"
    # Nested and identical spans collapse into one.
    assert redact(text, [f(3, 5), f(2, 8, "OUTER"), f(2, 8)]) == "01<OUTER>89abcdef"


def test_touching_spans_keep_both_placeholders_and_order_does_not_matter() -> None:
    text = "aaaabbbb"
    assert redact(text, [f(4, 8, "B"), f(0, 4, "A")]) == "<A><B>"
    assert [(s.start, s.end) for s in merge_spans([f(5, 7), f(0, 2), f(1, 3)])] == [
        (0, 3),
        (5, 7),
    ]


def test_spanless_findings_are_not_redacted() -> None:
    assert redact("abc", [Finding("c", "X", 0, 0)]) == "abc"


async def test_awaiting_checks_run_after_the_cheap_ones_and_concurrently() -> None:
    first, second = asyncio.Event(), asyncio.Event()
    context = GuardContext(messages=({"role": "user", "content": "hi"},))
    judge = AsyncMarkerCheck("judge", "bomb", "S9")
    outcome = await pipeline(
        GuardedCheck(HandshakeCheck("a", first, second)),
        GuardedCheck(judge),
        GuardedCheck(HandshakeCheck("b", second, first)),
        GuardedCheck(CardCheck(), "redact"),
    ).scan_async(f"a bomb {CARD}", context)
    assert outcome.blocked_by == Finding("judge", "S9", 0, 0)
    assert judge.seen == [(f"a bomb {CARD}", context)]


async def test_a_cheap_block_spares_the_awaiting_checks() -> None:
    judge = AsyncMarkerCheck("judge", "x", "S1")
    outcome = await pipeline(
        GuardedCheck(judge), GuardedCheck(WordCheck("kw", "secret", "KEYWORD"))
    ).scan_async("a secret")
    assert outcome.blocked_by.check == "kw" and judge.seen == []


@pytest.mark.parametrize(("fail", "blocked"), [("closed", True), ("open", False)])
async def test_an_awaiting_check_past_its_deadline_follows_its_fail_mode(
    fail: str, blocked: bool
) -> None:
    slow = AsyncMarkerCheck("judge", "x", "S1", delay_s=5)
    outcome = await pipeline(GuardedCheck(slow, timeout_ms=20, fail=fail)).scan_async("x")
    assert outcome.blocked is blocked
    assert [(f.check, f.reason) for f in outcome.failures] == [("judge", "timeout")]
    if blocked:
        assert outcome.blocked_by.category == CHECK_FAILED


def test_the_synchronous_api_refuses_awaiting_checks() -> None:
    with pytest.raises(TypeError, match="evaluate_async"):
        pipeline(GuardedCheck(AsyncMarkerCheck("judge", "x", "S1"))).scan("x")
