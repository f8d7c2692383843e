"""Replace findings' spans with typed placeholders, overlapping spans merged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.guardrails.findings import Finding


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    category: str
    """The category of the earliest (then longest) finding merged into this span."""

    @property
    def placeholder(self) -> str:
        return f"<{self.category}>"


def merge_spans(findings: Iterable[Finding]) -> list[Span]:
    """Overlapping spans as one, sorted by start. Touching spans stay apart, so two adjacent
    findings keep both placeholders."""
    ordered = sorted(
        (finding for finding in findings if finding.has_span),
        key=lambda finding: (finding.start, -finding.end),
    )
    merged: list[Span] = []
    for finding in ordered:
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, finding.end), last.category)
        else:
            merged.append(Span(finding.start, finding.end, finding.category))
    return merged


def apply_spans(text: str, spans: list[Span]) -> str:
    """``text`` with each (merged, sorted) span replaced by its placeholder."""
    # Built from slices of the untouched original, so every offset stays valid however the
    # placeholders change the length (the same guarantee as replacing right to left, in
    # linear time).
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts += (text[cursor : span.start], span.placeholder)
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def redact(text: str, findings: Iterable[Finding]) -> str:
    return apply_spans(text, merge_spans(findings))
