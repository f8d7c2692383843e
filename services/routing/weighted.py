"""Weighted A/B/n splits with sticky assignment.

Weighted rendezvous hashing: each variant scores ``-weight / ln(u)`` with ``u`` a
uniform hash of (salt, routing key, variant), and the highest score wins. A variant
then gets a key with probability weight / total, a key keeps its variant while the
weights stand, and when weights change only about the changed share of keys moves.
The salt is per experiment, so two routes split the same users independently.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

_HASH_SPAN = float(2**64)


@dataclass(frozen=True)
class WeightedVariant:
    name: str
    model: str
    weight: float


def _uniform(salt: str, key: str, variant: str) -> float:
    """A uniform value in (0, 1), stable across processes and Python versions."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}\x1f{variant}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / _HASH_SPAN


def sticky_choice(
    variants: Sequence[WeightedVariant], salt: str, routing_key: str
) -> WeightedVariant:
    """The variant ``routing_key`` is assigned to (variants of weight 0 never win)."""
    best, best_score = None, -math.inf
    for variant in variants:
        if variant.weight <= 0:
            continue
        score = -variant.weight / math.log(_uniform(salt, routing_key, variant.name))
        if score > best_score:
            best, best_score = variant, score
    if best is None:
        raise ValueError("no variant has a positive weight")
    return best


def random_choice(variants: Sequence[WeightedVariant], rng: random.Random) -> WeightedVariant:
    """A variant drawn by weight, for requests that carry no routing key."""
    return rng.choices(list(variants), weights=[v.weight for v in variants])[0]
