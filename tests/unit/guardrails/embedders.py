"""Embedders for the embedding-based checks: a keyword fake for logic, MiniLM for thresholds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

KEYWORDS = ("attack", "weapon", "cake")


class KeywordEmbedder:
    """A unit vector per text over a few marker words, plus a constant so that no vector is
    zero: texts sharing a marker are ~1.0 similar, texts without one ~0.1 to those with one.
    Records every call; ``delay`` lets concurrent callers pile up."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self._delay = delay

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if self._delay:
            await asyncio.sleep(self._delay)
        vectors = []
        for text in texts:
            vector = np.array([text.lower().count(word) for word in KEYWORDS] + [0.1])
            vectors.append((vector / np.linalg.norm(vector)).tolist())
        return vectors

    def calls_with(self, text: str) -> int:
        return sum(text in call for call in self.calls)
