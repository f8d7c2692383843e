"""Run one direction's checks over a text and decide: block, redact or flag.

Block beats redact beats flag; the first blocking finding (in check order) ends the scan,
since nothing after it can change the answer.

Two kinds of check, two ways of keeping time:

- Synchronous checks (regex-class work: patterns, keywords, secrets, PII) run inline and
  their time is measured; an overrun is treated as a failure *after the fact* (its fail mode
  applies, and its findings are still used, since dropping a real finding would leak it).
  A thread with a deadline was rejected: Python cannot stop a thread stuck in a regex, so
  the work would go on burning the GIL anyway, and the hand-off alone costs tens of
  microseconds per check against a budget of one millisecond for all of them.
- Asynchronous checks (they await another deployment: the embedder, a judge model, the
  guardrails service) get a real deadline, and run concurrently with each other. They start
  only once every synchronous check has passed: a request the cheap checks block never pays
  for a model call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from opentelemetry.trace import Span, StatusCode

from services.guardrails.check_config import Action, CheckBase, Direction, FailMode
from services.guardrails.findings import (
    NO_CONTEXT,
    AsyncTextCheck,
    Finding,
    GuardContext,
    TailAwareCheck,
    TextCheck,
)
from services.guardrails.outcome import CHECK_FAILED, CheckFailure, GuardOutcome, Verdict
from services.guardrails.redaction import redact
from services.telemetry.spans import check_span

StreamScope = Literal["window", "running", "final"]
"""How a check reads a streamed completion: ``window`` scans the unsent text (checks whose
findings are spans of bounded length), ``running`` judges the completion so far from time to
time and at its end, ``final`` only the whole completion at its end (valid JSON)."""


@dataclass(frozen=True)
class GuardedCheck:
    """A check with what its policy says to do about it."""

    check: TextCheck | AsyncTextCheck
    action: Action = "block"
    timeout_ms: float = 50
    fail: FailMode = "closed"
    streamed: StreamScope | None = None
    """None: ``running`` for asynchronous whole-text checks (a model call per delta would
    cost too much), else ``window``."""
    is_async: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.check.scan))
        if self.streamed is None:
            whole_text = self.is_async and self.check.max_match_chars == 0
            scope = "running" if whole_text else "window"
            object.__setattr__(self, "streamed", scope)

    @classmethod
    def from_config(
        cls,
        check: TextCheck | AsyncTextCheck,
        config: CheckBase,
        *,
        streamed: StreamScope | None = None,
    ) -> GuardedCheck:
        return cls(check, config.action, config.timeout_ms, config.fail, streamed)

    @property
    def name(self) -> str:
        return self.check.name


Result = tuple[list[Finding], CheckFailure | None]
Ran = tuple[int, GuardedCheck, Result]
"""A check's position in the pipeline, the check, and what it found."""


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
        self._parts: dict[tuple[StreamScope, ...], GuardPipeline] = {}

    @property
    def max_match_chars(self) -> int:
        """The longest span any check can report: the streaming hold-back window."""
        return max((guarded.check.max_match_chars for guarded in self.checks), default=0)

    def open_from(self, text: str) -> int:
        """The earliest position in ``text`` where a finding of any check could still start,
        or grow, if more text followed (see ``stream``): a check that can tell says where
        (``open_from``), any other holds back its longest finding."""
        return max(0, min((_open_from(g.check, text) for g in self.checks), default=len(text)))

    @property
    def has_async_checks(self) -> bool:
        return any(guarded.is_async for guarded in self.checks)

    def only(self, *scopes: StreamScope) -> GuardPipeline:
        """The same pipeline with only the checks that read a stream one of these ways
        (built once per set of scopes: every request and stream asks for them)."""
        if scopes not in self._parts:
            kept = [guarded for guarded in self.checks if guarded.streamed in scopes]
            self._parts[scopes] = GuardPipeline(kept, self.direction, clock=self._clock)
        return self._parts[scopes]

    def evaluate(self, text: str, *, every_block: bool = False, traced: bool = False) -> Verdict:
        """The classified findings of the synchronous checks, with offsets into ``text``;
        the text is not changed. ``every_block`` scans on past the first block (the stream
        guard needs the redactions before a block that may not be final yet). ``traced``
        gives each check a span (whole texts; a stream's many small scans would drown a
        trace)."""
        if self.has_async_checks:
            raise TypeError("this pipeline has asynchronous checks: use evaluate_async")
        return self._classify(self._run_sync(text, every_block, traced), every_block)

    async def evaluate_async(
        self,
        text: str,
        context: GuardContext = NO_CONTEXT,
        *,
        every_block: bool = False,
        traced: bool = False,
    ) -> Verdict:
        """``evaluate`` for pipelines with asynchronous checks too."""
        results = self._run_sync(text, every_block, traced)
        blocked = any(self._blocks(guarded, result) for _, guarded, result in results)
        pending = [(i, guarded) for i, guarded in enumerate(self.checks) if guarded.is_async]
        if pending and (every_block or not blocked):
            awaited = await asyncio.gather(
                *(self._run_async(guarded, text, context, traced) for _, guarded in pending)
            )
            results += [(i, g, r) for (i, g), r in zip(pending, awaited, strict=True)]
            results.sort(key=lambda item: item[0])  # classify in check order
        return self._classify(results, every_block)

    def scan(self, text: str) -> GuardOutcome:
        """Guard one whole text (a prompt, or a completion that was not streamed)."""
        return self._outcome(text, self.evaluate(text, traced=True))

    async def scan_async(self, text: str, context: GuardContext = NO_CONTEXT) -> GuardOutcome:
        return self._outcome(text, await self.evaluate_async(text, context, traced=True))

    def _outcome(self, text: str, verdict: Verdict) -> GuardOutcome:
        if verdict.block is not None:
            return GuardOutcome(
                self.direction, "", verdict.block, (), verdict.flag, verdict.failures
            )
        redacted = redact(text, verdict.redact) if verdict.redact else text
        return GuardOutcome(
            self.direction, redacted, None, verdict.redact, verdict.flag, verdict.failures
        )

    @staticmethod
    def _blocks(guarded: GuardedCheck, result: Result) -> bool:
        findings, failure = result
        if failure is not None and failure.fail == "closed":
            return True
        if guarded.action == "flag":
            return False
        return any(guarded.action == "block" or not f.has_span for f in findings)

    def _run_sync(self, text: str, every_block: bool, traced: bool) -> list[Ran]:
        results: list[Ran] = []
        for index, guarded in enumerate(self.checks):
            if guarded.is_async:
                continue
            if traced:
                with check_span(guarded.name, self.direction, guarded.action) as span:
                    result = self._run(guarded, text)
                    _describe(span, result)
            else:
                result = self._run(guarded, text)
            results.append((index, guarded, result))
            if not every_block and self._blocks(guarded, result):
                break
        return results

    @staticmethod
    def _classify(results: list[tuple[GuardedCheck, Result]], every_block: bool = False) -> Verdict:
        blocks: list[Finding] = []
        redactions: list[Finding] = []
        flags: list[Finding] = []
        failures: list[CheckFailure] = []
        for _, guarded, (findings, failure) in results:
            if blocks and not every_block:
                break
            if failure is not None:
                failures.append(failure)
                if failure.fail == "closed":
                    blocks.append(Finding(guarded.name, CHECK_FAILED, 0, 0))
                    continue
            if guarded.action == "flag":
                flags += findings
                continue
            # A redact finding without a span has nothing to replace: refuse rather than pass.
            blocking = [f for f in findings if guarded.action == "block" or not f.has_span]
            blocks += sorted(blocking, key=lambda finding: finding.start)
            redactions += [f for f in findings if guarded.action == "redact" and f.has_span]
        return Verdict(tuple(blocks), tuple(redactions), tuple(flags), tuple(failures))

    def _run(self, guarded: GuardedCheck, text: str) -> Result:
        name = guarded.name
        started = self._clock()
        try:
            findings = guarded.check.scan(text)  # type: ignore[call-arg]
        except Exception as error:  # any check bug follows the check's fail mode
            return [], CheckFailure(name, "error", guarded.fail, type(error).__name__)
        elapsed_ms = (self._clock() - started) * 1000
        if elapsed_ms > guarded.timeout_ms:
            # The verdict is in: refusing it would only turn a busy CPU into blocked
            # requests. The overrun is reported, never fails closed.
            detail = f"{elapsed_ms:.1f} ms > {guarded.timeout_ms:g} ms"
            return findings, CheckFailure(name, "slow", "open", detail)
        return findings, None

    async def _run_async(
        self, guarded: GuardedCheck, text: str, context: GuardContext, traced: bool
    ) -> Result:
        if not traced:
            return await self._run_awaited(guarded, text, context)
        with check_span(guarded.name, self.direction, guarded.action) as span:
            result = await self._run_awaited(guarded, text, context)
            _describe(span, result)
        return result

    async def _run_awaited(self, guarded: GuardedCheck, text: str, context: GuardContext) -> Result:
        try:
            async with asyncio.timeout(guarded.timeout_ms / 1000):
                findings = await guarded.check.scan(text, context)  # type: ignore[misc]
        except TimeoutError:
            detail = f"no answer within {guarded.timeout_ms:g} ms"
            return [], CheckFailure(guarded.name, "timeout", guarded.fail, detail)
        except Exception as error:  # a failing dependency follows the check's fail mode
            return [], CheckFailure(guarded.name, "error", guarded.fail, type(error).__name__)
        return findings, None


def _open_from(check: TextCheck | AsyncTextCheck, text: str) -> int:
    if isinstance(check, TailAwareCheck):
        return check.open_from(text)
    return len(text) - check.max_match_chars


def _describe(span: Span, result: Result) -> None:
    """What a check found, by category and count; never the text."""
    findings, failure = result
    span.set_attribute("llm_fleet.guardrail.findings", len(findings))
    if findings:
        categories = sorted({finding.category for finding in findings})
        span.set_attribute("llm_fleet.guardrail.categories", categories)
    if failure is not None:
        span.set_attribute("llm_fleet.guardrail.failure", failure.reason)
        if failure.reason != "slow":
            span.set_status(StatusCode.ERROR, f"{failure.reason}: {failure.detail}")
