"""Guard a streamed completion: emit what is safe now, hold back what a finding could still
reach.

Why the hold-back is enough. After each delta the guard scans the unsent text ``pending``
(after a stretch of sent text, see below) and asks each check where in it a finding could
still start if more text followed (``GuardPipeline.open_from``): a check that matches with
patterns answers with the first position from which one of them matches, or could match,
all the rest of the text (usually the last word, often nothing); any other check answers
``len(pending) - W``, W being the longest text its findings can span (``max_match_chars``).
The guard may send ``pending[:e]`` with ``e`` no later than every answer. Any finding of the
whole completion that starts before ``e`` then ends inside the scanned text, was found
there, and is redacted before being sent. So no finding can start in text already sent,
which is why each scan needs only the unsent text, plus what checks read before a finding
(``\\b``, lookbehinds, context words such as "SSN is" or "aws_secret_access_key ="): the
last ``READ_BEHIND_CHARS`` of sent text are scanned again in front of it, and findings that
end there are already dealt with. The cut never falls inside a redaction (it moves back to
the span's start), and it prefers to fall just after a non-word character.

Findings near the end of ``pending`` may still change as text arrives (``\\d{16}`` sees 12
digits now, 16 later), so blocks and flags act only once final (starting before the cut
point) or at ``finish()``; whole-text verdicts (no span) act at once.

Checks that judge the completion as a whole (a judge model, banned topics) cannot work on a
window: they read everything received so far every ``running_every`` characters and at the
end. They run in the background (a judge call takes ~100 ms; the stream does not wait for
it) and their verdict applies at the first step after it is back. Text they object to may
already be out by then (holding the whole completion back would end streaming), so their
block stops the stream there. Checks that only make sense on the complete text (valid JSON)
run once, at ``finish()``, on what was sent.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from services.guardrails.findings import NO_CONTEXT, Finding, GuardContext
from services.guardrails.outcome import CheckFailure, GuardOutcome, Verdict
from services.guardrails.pipeline import GuardPipeline
from services.guardrails.redaction import apply_spans, merge_spans

# The last non-word character of a text, followed only by word characters.
_LAST_NON_WORD = re.compile(r"\W\w*\Z")
READ_BEHIND_CHARS = 64
"""Sent text scanned again before the unsent text: the most any check reads before a finding
(detect-secrets' AWS pattern, ``aws.{0,20}?password.{0,20}?"`` before the key, is 52)."""


@dataclass(frozen=True)
class StreamStep:
    emit: str
    """Text safe to send now (redactions applied); may be empty."""
    blocked_by: Finding | None = None
    """Set when the stream must stop: send the error event and abort the engine request."""

    @property
    def blocked(self) -> bool:
        return self.blocked_by is not None


class StreamGuard:
    """One streamed completion's output guard: ``feed`` each delta, then ``finish``."""

    def __init__(
        self,
        pipeline: GuardPipeline,
        *,
        context: GuardContext = NO_CONTEXT,
        window: int = 0,
        running_every: int = 256,
    ) -> None:
        self._pipeline = pipeline.only("window")
        self._running = pipeline.only("running")
        self._final = pipeline.only("final")
        self._context = context
        # A window shorter than the longest finding would let one slip through split.
        self.window = max(window, self._pipeline.max_match_chars)
        self._least_held = window
        self.running_every = running_every
        self._received = ""
        self._judged_chars = 0  # of ``_received``, when the running checks last started
        self._judging: asyncio.Task[Verdict] | None = None
        self._sent: list[str] = []
        self._pending = ""
        self._behind = ""  # the end of the sent text, as generated (not redacted)
        self._offset = 0  # characters of the completion before ``_pending``
        self._blocked: Finding | None = None
        self._redactions: list[Finding] = []
        self._flags: list[Finding] = []
        self._failures: dict[tuple[str, str], CheckFailure] = {}

    async def feed(self, delta: str) -> StreamStep:
        if self._blocked is not None:
            return StreamStep("", self._blocked)
        self._pending += delta
        self._received += delta
        step = await self._advance(final=False)
        if not step.blocked and self._judging is not None and self._judging.done():
            step = self._apply(self._judging.result(), step)
            self._judging = None
        due = len(self._received) - self._judged_chars >= self.running_every
        if not step.blocked and self._running.checks and self._judging is None and due:
            self._judged_chars = len(self._received)
            self._judging = asyncio.ensure_future(
                self._running.evaluate_async(self._received, self._context)
            )
        return step

    async def finish(self) -> StreamStep:
        """Scan and send the rest: the completion has ended."""
        if self._blocked is not None:
            return StreamStep("", self._blocked)
        step = await self._advance(final=True)
        if not step.blocked and self._judging is not None:
            step = self._apply(await self._judging, step)
            self._judging = None
        if not step.blocked and self._running.checks and self._judged_chars < len(self._received):
            self._judged_chars = len(self._received)
            step = self._apply(
                await self._running.evaluate_async(self._received, self._context), step
            )
        if not step.blocked and self._final.checks:
            sent = "".join(self._sent)
            step = self._apply(await self._final.evaluate_async(sent, self._context), step)
        return step

    def cancel(self) -> None:
        """Stop a whole-text check still running (the stream ended early)."""
        if self._judging is not None:
            self._judging.cancel()
            self._judging = None

    def _apply(self, verdict: Verdict, step: StreamStep) -> StreamStep:
        """A whole-text verdict; on a block, ``step``'s text is held back too."""
        self._note_failures(verdict)
        self._record((), verdict.flag, 0)
        if verdict.block is None:
            return step
        self._blocked = verdict.block
        self._pending = ""
        return StreamStep("", self._blocked)

    def _note_failures(self, verdict: Verdict) -> None:
        for failure in verdict.failures:
            self._failures.setdefault((failure.check, failure.reason), failure)

    def summary(self) -> GuardOutcome:
        """What was decided over the whole stream, offsets into the completion; ``text`` is
        empty since the text went out in the steps."""
        return GuardOutcome(
            "output",
            "",
            self._blocked,
            tuple(self._redactions),
            tuple(self._flags),
            tuple(self._failures.values()),
        )

    async def _advance(self, *, final: bool) -> StreamStep:
        pending, behind = self._pending, len(self._behind)
        scanned = self._behind + pending
        verdict = await self._pipeline.evaluate_async(scanned, self._context, every_block=True)
        verdict = _unsent(verdict, behind)
        self._note_failures(verdict)
        settled = len(pending) if final else self._settled(scanned, behind, verdict)
        # A finding starting a window back is final, even one still growing to the end.
        blocks_from = max(settled, len(pending) - self.window)
        for block in verdict.blocks:
            if not block.has_span or block.start < blocks_from:
                self._blocked = self._shift(block)
                self._pending = ""
                return StreamStep("", self._blocked)
        cut = self._cut(pending, settled, final)
        spans = merge_spans(verdict.redact)
        for span in spans:
            if span.start < cut < span.end:
                cut = span.start
        self._record(verdict.redact, verdict.flag, cut)
        emitted = apply_spans(pending[:cut], [span for span in spans if span.end <= cut])
        self._pending = pending[cut:]
        self._behind = scanned[max(0, behind + cut - READ_BEHIND_CHARS) : behind + cut]
        self._offset += cut
        self._sent.append(emitted)
        return StreamStep(emitted)

    def _settled(self, scanned: str, behind: int, verdict: Verdict) -> int:
        """Where the unsent text stops being final: where a finding could still start, or
        where one that reaches its end (and may still grow) starts."""
        pending = len(scanned) - behind
        growing = (
            f.start
            for f in (*verdict.blocks, *verdict.redact, *verdict.flag)
            if f.has_span and f.end >= pending
        )
        still_open = self._pipeline.open_from(scanned) - behind
        return min(still_open, pending - self._least_held, *growing)

    def _cut(self, pending: str, settled: int, final: bool) -> int:
        if final or settled <= 0:
            return max(settled, 0)
        if not pending[settled - 1].isalnum() and pending[settled - 1] != "_":
            return settled
        # Look back at most one window, so a long word cannot be held back without bound.
        start = max(settled - self.window, 0)
        match = _LAST_NON_WORD.search(pending, start, settled)
        if match:
            return match.start() + 1
        # The word began at the previous (clean) cut: send nothing yet. Inside a word longer
        # than the window there is no clean cut; the plain one can only over-match.
        return 0 if start == 0 else settled

    def _record(
        self, redactions: tuple[Finding, ...], flags: tuple[Finding, ...], cut: int
    ) -> None:
        self._redactions += [self._shift(f) for f in redactions if f.start < cut]
        seen = {(f.check, f.category) for f in self._flags if not f.has_span}
        for flag in flags:
            if flag.has_span and flag.start < cut:
                self._flags.append(self._shift(flag))
            elif not flag.has_span and (flag.check, flag.category) not in seen:
                seen.add((flag.check, flag.category))
                self._flags.append(flag)

    def _shift(self, finding: Finding) -> Finding:
        if not finding.has_span:
            return finding
        start, end = finding.start + self._offset, finding.end + self._offset
        return Finding(finding.check, finding.category, start, end, finding.score)


def _unsent(verdict: Verdict, behind: int) -> Verdict:
    """A verdict on sent-then-unsent text, with offsets into the unsent part; findings that
    end in the sent part were dealt with when it was scanned."""

    def unsent(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        return tuple(
            Finding(f.check, f.category, max(f.start - behind, 0), f.end - behind, f.score)
            if f.has_span
            else f
            for f in findings
            if not f.has_span or f.end > behind
        )

    if not behind:
        return verdict
    return Verdict(
        unsent(verdict.blocks), unsent(verdict.redact), unsent(verdict.flag), verdict.failures
    )
