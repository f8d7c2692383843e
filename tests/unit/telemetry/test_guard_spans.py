"""Guardrail checks in traces and metrics: what was found, never the text it was in."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from services.guardrails.audit import AuditContext, GuardAudit
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from tests.unit.guardrails.fakes import CardCheck, RaisingCheck, StepClock, WordCheck
from tests.unit.telemetry.conftest import RecordingMetrics

CARD = "4111111111111111"
TEXT = f"card {CARD} and {CARD}, ask about weather"


def pipeline() -> GuardPipeline:
    return GuardPipeline(
        [
            GuardedCheck(CardCheck(), "redact"),
            GuardedCheck(WordCheck("topics", "weather", "WEATHER"), "flag"),
        ],
        "input",
    )


def guard_spans(spans: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    found = [s for s in spans.get_finished_spans() if s.name.startswith("llm_fleet.guardrail ")]
    return {s.name.removeprefix("llm_fleet.guardrail "): s for s in found}


def test_scan_gives_each_check_a_span_with_counts_and_categories(
    spans: InMemorySpanExporter,
) -> None:
    pipeline().scan(TEXT)
    by_check = guard_spans(spans)
    assert set(by_check) == {"pii", "topics"}
    pii = by_check["pii"].attributes or {}
    assert pii["llm_fleet.guardrail.check"] == "pii"
    assert pii["llm_fleet.guardrail.direction"] == "input"
    assert pii["llm_fleet.guardrail.action"] == "redact"
    assert pii["llm_fleet.guardrail.findings"] == 2
    assert tuple(pii["llm_fleet.guardrail.categories"]) == ("CREDIT_CARD",)
    topics = by_check["topics"].attributes or {}
    assert (topics["llm_fleet.guardrail.action"], topics["llm_fleet.guardrail.findings"]) == (
        "flag",
        1,
    )
    for span in by_check.values():
        assert span.status.status_code == StatusCode.UNSET
        written = repr(span.attributes) + repr([e.attributes for e in span.events])
        assert CARD not in written and "weather" not in written


def test_clean_text_has_no_categories(spans: InMemorySpanExporter) -> None:
    pipeline().scan("nothing here")
    pii = guard_spans(spans)["pii"].attributes or {}
    assert pii["llm_fleet.guardrail.findings"] == 0
    assert "llm_fleet.guardrail.categories" not in pii


def test_the_stream_path_makes_no_spans(spans: InMemorySpanExporter) -> None:
    """A stream is scanned once per window: a span each would drown the trace."""
    pipeline().evaluate(TEXT)
    pipeline().evaluate(TEXT, every_block=True)
    assert guard_spans(spans) == {}


def test_a_failing_check_span_is_an_error_without_the_text(spans: InMemorySpanExporter) -> None:
    # RaisingCheck puts the text in its exception message: it must not reach the span.
    GuardPipeline([GuardedCheck(RaisingCheck("secrets"), fail="open")], "output").scan(TEXT)
    span = guard_spans(spans)["secrets"]
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})["llm_fleet.guardrail.failure"] == "error"
    assert span.events == ()
    assert CARD not in repr(span.attributes) and CARD not in str(span.status.description)


def test_a_slow_check_is_reported_but_not_an_error(spans: InMemorySpanExporter) -> None:
    slow = GuardPipeline(
        [GuardedCheck(CardCheck(), "redact", timeout_ms=1)], "input", clock=StepClock(1.0)
    )
    slow.scan(TEXT)
    span = guard_spans(spans)["pii"]
    assert (span.attributes or {})["llm_fleet.guardrail.failure"] == "slow"
    assert span.status.status_code == StatusCode.UNSET


def test_a_block_ends_the_scan_and_the_later_checks_have_no_span(
    spans: InMemorySpanExporter,
) -> None:
    GuardPipeline(
        [GuardedCheck(CardCheck(), "block"), GuardedCheck(RaisingCheck("later"))], "input"
    ).scan(TEXT)
    assert set(guard_spans(spans)) == {"pii"}


def test_audit_counts_decisions_in_metrics(metrics: RecordingMetrics) -> None:
    outcome = GuardPipeline(
        [
            GuardedCheck(RaisingCheck("secrets"), fail="open"),
            GuardedCheck(CardCheck(), "redact"),
            GuardedCheck(WordCheck("topics", "weather", "WEATHER"), "flag"),
        ],
        "output",
    ).scan(TEXT)
    GuardAudit(metrics=metrics).record(outcome, AuditContext(request_id="r1", route="chat"))
    assert metrics.guardrail_decisions == [
        {
            "route": "chat",
            "direction": "output",
            "check": "pii",
            "category": "CREDIT_CARD",
            "action": "redact",
            "count": 2,
        },
        {
            "route": "chat",
            "direction": "output",
            "check": "secrets",
            "category": "CHECK_FAILED",
            "action": "fail_open",
            "count": 1,
        },
        {
            "route": "chat",
            "direction": "output",
            "check": "topics",
            "category": "WEATHER",
            "action": "flag",
            "count": 1,
        },
    ]


def test_audit_counts_a_block(metrics: RecordingMetrics) -> None:
    outcome = GuardPipeline([GuardedCheck(CardCheck(), "block")], "input").scan(TEXT)
    GuardAudit(metrics=metrics).record(outcome, AuditContext(request_id="r1", route="m"))
    assert [(d["check"], d["action"], d["count"]) for d in metrics.guardrail_decisions] == [
        ("pii", "block", 1)
    ]
