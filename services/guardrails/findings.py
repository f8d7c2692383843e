"""What a check reports: typed spans of the scanned text, never copied anywhere else.

A finding carries offsets into the text, not the matched text itself, so logs, errors and
audit events built from findings can never leak what was found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Finding:
    check: str
    """The check that found it, e.g. ``pii`` or ``secrets``."""
    category: str
    """What was found, upper-case, e.g. ``EMAIL``, ``CREDIT_CARD``, ``AWS_ACCESS_KEY``;
    redaction writes ``<CATEGORY>`` in its place."""
    start: int
    end: int
    """``text[start:end]`` is the finding; ``start == end == 0`` for whole-text verdicts
    (an injection, a banned topic) that have no span."""
    score: float = 1.0

    @property
    def placeholder(self) -> str:
        return f"<{self.category}>"

    @property
    def has_span(self) -> bool:
        return self.end > self.start


class TextCheck(Protocol):
    """A cheap, synchronous check (regex-class work, well under a millisecond a KB)."""

    name: str

    def scan(self, text: str) -> list[Finding]: ...

    @property
    def max_match_chars(self) -> int:
        """The longest text one finding can span: the streaming hold-back window is sized
        from it, so a finding split across chunks is still seen whole."""
        ...
