"""Example texts embedded once: what semantic routes and embedding checks compare to.

Callers depend only on the ``Embedder`` protocol (the embedder deployment's handle, or the
model in-process in tests and benchmarks), never on the model's libraries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from services.errors import ServerError

EMBED_BATCH = 256
"""Texts per embedder call when embedding examples (the embedder's own limit per call)."""


class Embedder(Protocol):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order (so a dot product is the cosine)."""
        ...


class SyncEmbedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class InProcessEmbedder:
    """A model in this process (``services.embedder.model.SentenceEmbedder``) as an
    ``Embedder``: for tests and benchmarks that leave Ray out."""

    def __init__(self, model: SyncEmbedder) -> None:
        self._model = model

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self._model.embed(texts).tolist()


def as_matrix(vectors: list[list[float]], expected: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != expected:
        raise ServerError(f"the embedder returned {matrix.shape} for {expected} texts")
    return matrix


class ExampleIndex:
    """Example texts (a route's utterances, known attacks, a topic's descriptions) as one
    matrix of embeddings, row ``i`` for ``texts[i]``. Embedded once, on first use."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = tuple(texts)
        self._matrix: np.ndarray | None = None
        self._embedding: asyncio.Future[np.ndarray] | None = None

    async def matrix(self, embedder: Embedder) -> np.ndarray:
        if self._matrix is None:
            # One embedding for every caller arriving before it is back, in a task of its
            # own: a caller that gives up (a check past its deadline) does not cancel it for
            # the others, or for the next request. A failed one is tried again.
            if self._embedding is None or _failed(self._embedding):
                self._embedding = asyncio.ensure_future(self._embed_all(embedder))
            self._matrix = await asyncio.shield(self._embedding)
        return self._matrix

    async def _embed_all(self, embedder: Embedder) -> np.ndarray:
        vectors: list[list[float]] = []
        for start in range(0, len(self.texts), EMBED_BATCH):
            vectors.extend(await embedder.embed(self.texts[start : start + EMBED_BATCH]))
        return as_matrix(vectors, len(self.texts))

    async def similarities(self, embedder: Embedder, windows: Sequence[str]) -> np.ndarray:
        """Cosine similarity of every example (rows) to every window (columns)."""
        matrix = await self.matrix(embedder)
        embedded = as_matrix(await embedder.embed(windows), len(windows))
        if embedded.shape[1] != matrix.shape[1]:
            raise ServerError(
                f"the embedder returned {embedded.shape[1]} dimensions for the text but "
                f"{matrix.shape[1]} for the examples"
            )
        return matrix @ embedded.T


def _failed(future: asyncio.Future[np.ndarray]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)
