"""Banned topics: the text is close to what an operator wrote about a topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from services.embedder.examples import ExampleIndex
from services.guardrails.check_config import TopicsCheckConfig
from services.guardrails.checks.normalize import normalize
from services.guardrails.checks.windows import MAX_WINDOWS, text_windows
from services.guardrails.findings import Finding, GuardContext

if TYPE_CHECKING:
    from services.embedder.examples import Embedder


class TopicsCheck:
    """One whole-text finding per topic (category: its name upper-cased, score: the best
    similarity) that some window of the text is at least ``threshold`` similar to, by any
    of the topic's descriptions or examples."""

    max_match_chars = 0

    def __init__(
        self,
        name: str,
        topics: Mapping[str, Sequence[str]],
        embedder: Embedder,
        *,
        threshold: float = 0.5,
        max_windows: int = MAX_WINDOWS,
    ) -> None:
        if not topics or not all(topics.values()):
            raise ValueError(f"check '{name}' needs at least one text for every topic")
        self.name = name
        self.threshold = threshold
        self._max_windows = max_windows
        self._embedder = embedder
        self._index = ExampleIndex([text for texts in topics.values() for text in texts])
        # Row ranges per topic, so one maximum per topic is a slice, not a mask per scan.
        self._rows: list[tuple[str, int, int]] = []
        start = 0
        for topic, texts in topics.items():
            self._rows.append((topic.upper(), start, start + len(texts)))
            start += len(texts)

    @classmethod
    def from_config(cls, config: TopicsCheckConfig, embedder: Embedder) -> TopicsCheck:
        return cls(
            config.check_name,
            config.topics,
            embedder,
            threshold=config.threshold,
            max_windows=config.max_windows,
        )

    async def prepare(self) -> None:
        """Embed the topics' examples now rather than on the first prompt."""
        await self._index.matrix(self._embedder)

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        scores = await self.similarities(text)
        return [
            Finding(self.name, category, 0, 0, score=score)
            for category, score in scores.items()
            if score >= self.threshold
        ]

    async def similarities(self, text: str) -> dict[str, float]:
        """Each topic's (upper-cased) best similarity to any window of ``text``."""
        windows = text_windows(normalize(text), max_windows=self._max_windows)
        if not windows:
            return {}
        similarities = await self._index.similarities(self._embedder, windows)
        return {
            category: float(np.max(similarities[start:end])) for category, start, end in self._rows
        }
