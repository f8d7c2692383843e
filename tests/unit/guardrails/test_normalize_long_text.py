"""The injection heuristics stay linear on long prompts (the fuzz tests' 100k-letter prompt
held the router's event loop for minutes before)."""

from __future__ import annotations

import time

from services.guardrails.checks.injection import matches_heuristics
from services.guardrails.checks.normalize import fold_leetspeak, normalize

LONG = 100_000


def test_a_long_run_of_letters_folds_in_linear_time() -> None:
    started = time.perf_counter()
    assert fold_leetspeak("a" * LONG) == "a" * LONG
    assert fold_leetspeak("a" * LONG + "1") == "a" * LONG + "i"
    assert matches_heuristics(normalize("status " * LONG)) is None
    assert time.perf_counter() - started < 2.0


def test_a_long_word_normalizes_in_linear_time() -> None:
    started = time.perf_counter()
    assert normalize("a" * LONG) == "a" * LONG
    assert normalize("\u0430" + "b" * LONG) == "a" + "b" * LONG  # Cyrillic a, then Latin
    assert time.perf_counter() - started < 2.0


def test_folding_still_applies_to_the_whole_token() -> None:
    assert fold_leetspeak("xx 1gn0r3 yy") == "xx ignore yy"
    assert fold_leetspeak("b" * 50 + "3") == "b" * 50 + "e"
