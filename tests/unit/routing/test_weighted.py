"""Sticky weighted splits: shares, stickiness and minimal movement when weights change."""

import random
from collections import Counter

import pytest

from services.routing.weighted import WeightedVariant, random_choice, sticky_choice

KEYS = [f"user-{n}" for n in range(2000)]


def split(weights: dict[str, float]) -> list[WeightedVariant]:
    return [WeightedVariant(name, f"model-{name}", weight) for name, weight in weights.items()]


def assign(variants: list[WeightedVariant], salt: str = "exp") -> dict[str, str]:
    return {key: sticky_choice(variants, salt, key).name for key in KEYS}


@pytest.mark.parametrize(
    "weights", [{"a": 50, "b": 50}, {"a": 90, "b": 10}, {"a": 1, "b": 2, "c": 7}]
)
def test_shares_follow_weights_within_three_points(weights: dict[str, float]) -> None:
    counts = Counter(assign(split(weights)).values())
    total = sum(weights.values())
    for name, weight in weights.items():
        assert abs(100 * counts[name] / len(KEYS) - 100 * weight / total) <= 3


def test_same_key_same_variant() -> None:
    variants = split({"a": 30, "b": 70})
    assert assign(variants) == assign(variants)


def test_moving_ten_percent_of_weight_moves_about_ten_percent_of_keys() -> None:
    before = assign(split({"a": 50, "b": 50}))
    after = assign(split({"a": 40, "b": 60}))
    moved = [key for key in KEYS if before[key] != after[key]]
    assert 0.05 <= len(moved) / len(KEYS) <= 0.15
    assert all(before[key] == "a" and after[key] == "b" for key in moved)


def test_adding_an_arm_only_takes_keys_for_itself() -> None:
    before = assign(split({"a": 50, "b": 50}))
    after = assign(split({"a": 50, "b": 50, "c": 10}))
    moved = {key for key in KEYS if before[key] != after[key]}
    assert all(after[key] == "c" for key in moved)
    assert abs(len(moved) / len(KEYS) - 10 / 110) <= 0.03


def test_salt_reshuffles_keys() -> None:
    variants = split({"a": 50, "b": 50})
    one, two = assign(variants, "exp-1"), assign(variants, "exp-2")
    changed = sum(one[key] != two[key] for key in KEYS) / len(KEYS)
    assert 0.4 <= changed <= 0.6


def test_zero_weight_arm_gets_nothing() -> None:
    assert set(assign(split({"a": 1, "b": 0})).values()) == {"a"}


def test_random_split_without_key_follows_weights() -> None:
    rng = random.Random(3)
    variants = split({"a": 80, "b": 20})
    counts = Counter(random_choice(variants, rng).name for _ in range(2000))
    assert abs(counts["a"] / 2000 - 0.8) <= 0.03
