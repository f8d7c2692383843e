"""Run one direction's checks over a text and decide: block, redact or flag.

Block beats redact beats flag; the first blocking finding (in check order) ends the scan,
since nothing after it can change the answer.

Timeouts. The checks here are synchronous regex-class work, so a check runs inline and its
time is measured; an overrun is treated as a failure *after the fact* (its fail mode
applies, and its findings are still used, since dropping a real finding would leak it).
A thread with a deadline was rejected: Python cannot stop a thread stuck in a regex, so the
work would go on burning the GIL anyway, and the hand-off alone costs tens of microseconds
per check against a budget of one millisecond for all of them. Runaway patterns are kept
out instead by bounding what is scanned. Slow checks (embeddings, the judge) are async and
will get real deadlines (``asyncio.wait_for``) where they are awaited.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.guardrails.check_config import Action, CheckBase, Direction, FailMode
from services.guardrails.findings import Finding, TextCheck
from services.guardrails.outcome import CHECK_FAILED, CheckFailure, GuardOutcome, Verdict
from services.guardrails.redaction import redact


@dataclass(frozen=True)
class GuardedCheck:
    """A check with what its policy says to do about it."""

    check: TextCheck
    action: Action = "block"
    timeout_ms: float = 50
    fail: FailMode = "closed"

    @classmethod
    def from_config(cls, check: TextCheck, config: CheckBase) -> GuardedCheck:
        return cls(check, config.action, config.timeout_ms, config.fail)


class GuardPipeline:
    """The checks of one direction (input or output) of one policy set."""

    def __init__(
        self,
        checks: Sequence[GuardedCheck],
        direction: Direction,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.checks = tuple(checks)
        self.direction = direction
        self._clock = clock

    @property
    def max_match_chars(self) -> int:
        """The longest span any check can report: the streaming hold-back window."""
        return max((guarded.check.max_match_chars for guarded in self.checks), default=0)

    def evaluate(self, text: str, *, every_block: bool = False) -> Verdict:
        """The classified findings, with offsets into ``text``; the text is not changed.
        ``every_block`` scans on past the first block (the stream guard needs the redactions
        before a block that may not be final yet)."""
        blocks: list[Finding] = []
        redactions: list[Finding] = []
        flags: list[Finding] = []
        failures: list[CheckFailure] = []
        for guarded in self.checks:
            if blocks and not every_block:
                break
            findings, failure = self._run(guarded, text)
            if failure is not None:
                failures.append(failure)
                if guarded.fail == "closed":
                    blocks.append(Finding(guarded.check.name, CHECK_FAILED, 0, 0))
                    continue
            if guarded.action == "flag":
                flags += findings
                continue
            # A redact finding without a span has nothing to replace: refuse rather than pass.
            blocking = [f for f in findings if guarded.action == "block" or not f.has_span]
            blocks += sorted(blocking, key=lambda finding: finding.start)
            redactions += [f for f in findings if guarded.action == "redact" and f.has_span]
        return Verdict(tuple(blocks), tuple(redactions), tuple(flags), tuple(failures))

    def scan(self, text: str) -> GuardOutcome:
        """Guard one whole text (a prompt, or a completion that was not streamed)."""
        verdict = self.evaluate(text)
        if verdict.block is not None:
            return GuardOutcome(
                self.direction, "", verdict.block, (), verdict.flag, verdict.failures
            )
        redacted = redact(text, verdict.redact) if verdict.redact else text
        return GuardOutcome(
            self.direction, redacted, None, verdict.redact, verdict.flag, verdict.failures
        )

    def _run(self, guarded: GuardedCheck, text: str) -> tuple[list[Finding], CheckFailure | None]:
        name = guarded.check.name
        started = self._clock()
        try:
            findings = guarded.check.scan(text)
        except Exception as error:  # any check bug follows the check's fail mode
            return [], CheckFailure(name, "error", guarded.fail, type(error).__name__)
        elapsed_ms = (self._clock() - started) * 1000
        if elapsed_ms > guarded.timeout_ms:
            detail = f"{elapsed_ms:.1f} ms > {guarded.timeout_ms:g} ms"
            return findings, CheckFailure(name, "timeout", guarded.fail, detail)
        return findings, None
