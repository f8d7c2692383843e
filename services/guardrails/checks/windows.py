"""Embedding-based checks: which pieces of a text are embedded, and what they are compared to.

The embedder (all-MiniLM-L6-v2) reads at most 256 tokens of a text, about 1,000 characters
of English, and its CPU cost follows the tokens it reads. So a long text is cut into
sentence-aligned windows, a bounded number of them is embedded in one call, and a check
takes the best similarity of any window: an attack buried after a page of harmless text is
still seen, and the cost of a scan stays bounded whatever the prompt's length.
"""

from __future__ import annotations

import asyncio
import bisect
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.errors import ServerError

if TYPE_CHECKING:
    from services.embedder.examples import Embedder

WINDOW_CHARS = 160
"""Longest window, about a sentence or two. Far under the ~1,000 characters the model reads,
because the model averages its tokens (mean pooling): a one-sentence attack with 250
characters of report around it scores 0.3 against a known attack it matches at 0.65 alone,
while in a window of its own it keeps its score."""
MAX_WINDOWS = 8
"""Windows embedded per scan, so a scan reads at most ~1,300 characters (~300 tokens,
~15-20 ms on one CPU thread) whatever the text's length. The head and the tail come first:
that is where a prompt's own instructions are, and where an injection sits to be read
last. The regex heuristics still read the whole text."""

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def text_windows(
    text: str, *, window_chars: int = WINDOW_CHARS, max_windows: int = MAX_WINDOWS
) -> list[str]:
    """Up to ``max_windows`` pieces of ``text``, each at most ``window_chars`` long and cut
    at sentence ends where possible, in text order. A text longer than that budget yields
    its first window, its last (the tail, full even when the text ends mid-sentence) and
    windows spread evenly between them."""
    text = text.strip()
    if not text:
        return []
    if len(text) <= window_chars:
        return [text]
    breaks = [match.end() for match in _SENTENCE_END.finditer(text)]
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = _window_end(text, breaks, start, window_chars)
        spans.append((start, end))
        start = _skip_space(text, end)
    if len(spans) > max_windows:
        tail = (_tail_start(text, breaks, window_chars), len(text))
        interior = spans[1:-1]
        wanted = max_windows - 2
        # Evenly spaced through the middle, so no stretch of a long prompt is predictably
        # skipped next to the head or the tail.
        picks = [interior[(2 * i + 1) * len(interior) // (2 * wanted)] for i in range(wanted)]
        spans = [spans[0], *picks, tail] if max_windows > 1 else spans[:1]
    windows = (text[first:last].strip() for first, last in spans)
    return [window for window in windows if window]


class SharedEmbedder:
    """An ``Embedder`` that remembers recent vectors and joins calls already in flight.

    The injection and topics checks of one policy scan the same text concurrently and cut
    it into the same windows; wrapped around the embedder both are given, each window is
    embedded once. A stream scanned again as it grows re-embeds only its new tail."""

    def __init__(self, embedder: Embedder, *, max_entries: int = 1024) -> None:
        self._embedder = embedder
        self._max_entries = max_entries
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._pending: dict[str, tuple[asyncio.Future[list[list[float]]], int]] = {}

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        known: dict[str, list[float]] = {}
        waits: dict[str, tuple[asyncio.Future[list[list[float]]], int]] = {}
        missing: list[str] = []
        for text in dict.fromkeys(texts):
            if text in self._vectors:
                self._vectors.move_to_end(text)
                known[text] = self._vectors[text]
            elif text in self._pending:
                waits[text] = self._pending[text]
            else:
                missing.append(text)
        if missing:
            # A task of its own, so a caller that times out does not cancel the call for
            # the other checks waiting on it.
            call = asyncio.ensure_future(self._embedder.embed(missing))
            for index, text in enumerate(missing):
                waits[text] = self._pending[text] = (call, index)
            call.add_done_callback(lambda done, texts=missing: self._settle(texts, done))
        for text, (call, index) in waits.items():
            vectors = await asyncio.shield(call)
            if index >= len(vectors):
                raise ServerError(f"the embedder returned {len(vectors)} vectors for more texts")
            known[text] = vectors[index]
        return [known[text] for text in texts]

    def _settle(self, texts: list[str], call: asyncio.Future[list[list[float]]]) -> None:
        for text in texts:
            self._pending.pop(text, None)
        # Reading the exception marks it retrieved even when every caller has gone.
        if call.cancelled() or call.exception() is not None:
            return
        vectors = call.result()
        if len(vectors) != len(texts):
            return
        for text, vector in zip(texts, vectors, strict=True):
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
        while len(self._vectors) > self._max_entries:
            self._vectors.popitem(last=False)


def _window_end(text: str, breaks: list[int], start: int, window_chars: int) -> int:
    """Where a window from ``start`` ends: the first sentence end that makes it at least a
    third full (short sentences are joined, an instruction is not averaged into the next
    sentences), else the last space, else ``window_chars`` on (base64, a minified line)."""
    limit = start + window_chars
    if limit >= len(text):
        return len(text)
    floor = start + window_chars // 3
    index = bisect.bisect_left(breaks, floor)
    if index < len(breaks) and breaks[index] <= limit:
        return breaks[index]
    space = text.rfind(" ", floor, limit)
    return space if space > floor else limit


def _tail_start(text: str, breaks: list[int], window_chars: int) -> int:
    """Where the last window starts: the last sentence start that leaves it at least a
    third full, so a closing instruction is read nearly alone, not averaged into the
    sentences before it; else the first space in reach."""
    earliest, latest = len(text) - window_chars, len(text) - window_chars // 3
    index = bisect.bisect_right(breaks, latest) - 1
    if index >= 0 and breaks[index] >= earliest:
        return breaks[index]
    space = text.find(" ", earliest, latest)
    return space + 1 if space >= 0 else earliest


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position
