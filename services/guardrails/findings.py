"""What a check reports: typed spans of the scanned text, never copied anywhere else.

A finding carries offsets into the text, not the matched text itself, so logs, errors and
audit events built from findings can never leak what was found.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


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


@runtime_checkable
class TailAwareCheck(Protocol):
    """A check that can say how much of a growing text (a streamed completion) is final."""

    def open_from(self, text: str) -> int:
        """The earliest position of ``text`` where one of its findings could still start, or
        grow, if more text followed; never before ``len(text) - max_match_chars``."""
        ...


@dataclass(frozen=True)
class GuardContext:
    """What a check may know of the request beyond the text it scans."""

    messages: tuple[Mapping[str, str], ...] = ()
    """The conversation as ``{"role", "content"}`` turns (a completions prompt is one user
    turn). A judge reads it to rate a completion as the answer to this conversation."""
    wants_json: bool = False
    """The request asked for JSON (``response_format`` or ``structured_outputs``)."""
    json_schema: Mapping[str, Any] | None = None
    """The JSON schema the request gave, if any."""
    count_prompt_tokens: Callable[[], Awaitable[int]] | None = None
    """The prompt's length in the serving model's tokens, counted on first use."""


NO_CONTEXT = GuardContext()


class AsyncTextCheck(Protocol):
    """A check that awaits another deployment (the embedder, a judge model). The pipeline
    runs these concurrently, each under a real deadline (its ``timeout_ms``).

    Most are whole-text verdicts (``max_match_chars == 0``, findings without spans); on a
    stream they judge the completion so far, not a window of it."""

    name: str

    async def scan(self, text: str, context: GuardContext) -> list[Finding]: ...

    @property
    def max_match_chars(self) -> int: ...
