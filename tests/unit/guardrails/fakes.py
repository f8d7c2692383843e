"""Stand-ins for checks written elsewhere (PII, secrets) and for misbehaving checks."""

from __future__ import annotations

import asyncio
import re

from services.guardrails.findings import Finding, GuardContext


class CardCheck:
    """Any 16 consecutive digits is a card (no Luhn: the fake is about spans, not cards)."""

    max_match_chars = 16

    def __init__(self, name: str = "pii", category: str = "CREDIT_CARD") -> None:
        self.name = name
        self._category = category

    def scan(self, text: str) -> list[Finding]:
        return [
            Finding(self.name, self._category, m.start(), m.end())
            for m in re.finditer(r"\d{16}", text)
        ]


class WordCheck:
    """Every occurrence of one literal word."""

    def __init__(self, name: str, word: str, category: str) -> None:
        self.name = name
        self._word = word
        self._category = category
        self.max_match_chars = len(word)

    def scan(self, text: str) -> list[Finding]:
        return [
            Finding(self.name, self._category, m.start(), m.end())
            for m in re.finditer(re.escape(self._word), text)
        ]


class RaisingCheck:
    max_match_chars = 0

    def __init__(self, name: str = "secrets") -> None:
        self.name = name

    def scan(self, text: str) -> list[Finding]:
        raise RuntimeError(f"boom on {text}")


class VerdictCheck:
    """A whole-text verdict (no span) whenever ``marker`` is in the text."""

    max_match_chars = 0

    def __init__(self, name: str, marker: str, category: str) -> None:
        self.name = name
        self._marker = marker
        self._category = category

    def scan(self, text: str) -> list[Finding]:
        return [Finding(self.name, self._category, 0, 0)] if self._marker in text else []


class StepClock:
    """A clock that advances ``step`` seconds on every reading."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class AsyncMarkerCheck:
    """An awaiting whole-text check (like the judge): a finding when ``marker`` is in the
    text; records every text and context it was asked about."""

    max_match_chars = 0

    def __init__(self, name: str, marker: str, category: str, *, delay_s: float = 0) -> None:
        self.name = name
        self._marker = marker
        self._category = category
        self._delay_s = delay_s
        self.seen: list[tuple[str, GuardContext]] = []

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        self.seen.append((text, context))
        await asyncio.sleep(self._delay_s)
        return [Finding(self.name, self._category, 0, 0)] if self._marker in text else []


class HandshakeCheck:
    """Two of these, sharing events, finish only when both run at the same time."""

    max_match_chars = 0

    def __init__(self, name: str, mine: asyncio.Event, theirs: asyncio.Event) -> None:
        self.name = name
        self._mine = mine
        self._theirs = theirs

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        self._mine.set()
        await self._theirs.wait()
        return []
