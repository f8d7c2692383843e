"""Deterministic stand-ins for the embedder and the token counter (logic above the engine)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

from services.router.types import RequestFacts

TOPICS = ("invoice", "refund", "password", "login", "python", "error")


class KeywordEmbedder:
    """Embeds a text as its counts of a few keywords (plus one 'other' axis), unit length."""

    def __init__(self, delay_s: float = 0) -> None:
        self.calls: list[list[str]] = []
        self._delay_s = delay_s

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if self._delay_s:
            await asyncio.sleep(self._delay_s)
        return [_unit(_counts(text)) for text in texts]


def _counts(text: str) -> list[float]:
    words = text.lower().split()
    counts = [float(sum(word.startswith(topic) for word in words)) for topic in TOPICS]
    return [*counts, 0.0 if any(counts) else 1.0]


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


class FixedTokenCounter:
    """Says every prompt is ``tokens`` long and records which tokenizer was asked."""

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.calls: list[str] = []

    async def count(self, model: str, facts: RequestFacts) -> int:
        self.calls.append(model)
        return self.tokens
