"""What one guard scan decided: blocked, redacted, flagged, and which checks failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from services.errors import GuardViolation
from services.guardrails.check_config import Direction, FailMode
from services.guardrails.findings import Finding

CHECK_FAILED = "CHECK_FAILED"


@dataclass(frozen=True)
class CheckFailure:
    """A check that raised or overran its budget; never carries the scanned text."""

    check: str
    reason: Literal["error", "timeout", "slow"]
    fail: FailMode
    detail: str
    """The exception's type name, or the time taken; not its message, which may quote text."""


@dataclass(frozen=True)
class Verdict:
    """The classified findings of one scan, with offsets into the scanned text."""

    blocks: tuple[Finding, ...] = ()
    """Blocking findings in check order (a fail-closed failure is one, category
    ``CHECK_FAILED``); only the first unless every block was asked for."""
    redact: tuple[Finding, ...] = ()
    flag: tuple[Finding, ...] = ()
    failures: tuple[CheckFailure, ...] = ()

    @property
    def block(self) -> Finding | None:
        return self.blocks[0] if self.blocks else None


@dataclass(frozen=True)
class GuardOutcome:
    """The result of guarding one whole text."""

    direction: Direction
    text: str
    """The text to pass on: the input, with every redaction applied. Empty when blocked."""
    blocked_by: Finding | None = None
    redactions: tuple[Finding, ...] = ()
    flags: tuple[Finding, ...] = ()
    failures: tuple[CheckFailure, ...] = field(default=())

    @property
    def blocked(self) -> bool:
        return self.blocked_by is not None

    def violation(self, param: str | None = None) -> GuardViolation | None:
        """The error for a block; ``param`` names the request field that was refused."""
        if self.blocked_by is None:
            return None
        return GuardViolation(
            self.blocked_by.check, self.blocked_by.category, direction=self.direction, param=param
        )

    def raise_if_blocked(self, param: str | None = None) -> None:
        violation = self.violation(param)
        if violation is not None:
            raise violation

    def metadata(self) -> dict[str, object]:
        """What a response may show about the guard: names and counts, never text."""
        return {
            "blocked": self.blocked,
            "redacted": len(self.redactions),
            "flagged": sorted({f"{f.check}:{f.category}" for f in self.flags}),
            "failed_checks": [
                {"check": failure.check, "reason": failure.reason, "fail": failure.fail}
                for failure in self.failures
            ],
        }
