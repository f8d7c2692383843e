"""Many callers' texts through the model in one run, and each caller's rows back."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def embed_batches(
    embed: Callable[[list[str]], np.ndarray], batches: Sequence[Sequence[str]]
) -> list[list[list[float]]]:
    """``embed`` run once over every batch's texts; result ``i`` holds batch ``i``'s rows."""
    vectors = embed([text for batch in batches for text in batch]).tolist()
    results = []
    start = 0
    for batch in batches:
        results.append(vectors[start : start + len(batch)])
        start += len(batch)
    return results
