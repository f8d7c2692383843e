"""text_windows, ExampleIndex and SharedEmbedder: bounded windows, one embedding each."""

from __future__ import annotations

import asyncio

import pytest

from services.embedder.examples import ExampleIndex
from services.guardrails.checks.windows import (
    MAX_WINDOWS,
    WINDOW_CHARS,
    SharedEmbedder,
    text_windows,
)
from tests.unit.guardrails.embedders import KeywordEmbedder

SENTENCE = "The quarterly report shows steady growth in every region this year. "


def test_short_text_is_one_window() -> None:
    assert text_windows("  hello there  ") == ["hello there"]
    assert text_windows("") == [] and text_windows(" \n ") == []


def test_windows_are_bounded_and_cut_at_sentence_ends() -> None:
    text = SENTENCE * 6
    windows = text_windows(text)
    assert 1 < len(windows) <= MAX_WINDOWS
    assert all(len(window) <= WINDOW_CHARS for window in windows)
    assert all(window.endswith("year.") for window in windows)
    # Below the budget every character is read.
    assert " ".join(windows) == text.strip()


def test_long_text_keeps_head_and_tail_and_stays_bounded() -> None:
    text = "HEAD starts here. " + SENTENCE * 200 + "TAIL ends here."
    windows = text_windows(text)
    assert len(windows) == MAX_WINDOWS
    assert windows[0].startswith("HEAD") and windows[-1].endswith("TAIL ends here.")
    assert sum(len(window) for window in windows) <= MAX_WINDOWS * WINDOW_CHARS


def test_tail_window_is_full_even_after_a_long_sentence() -> None:
    text = SENTENCE * 50 + "word " * 100 + "last words."
    tail = text_windows(text)[-1]
    assert tail.endswith("last words.") and len(tail) > WINDOW_CHARS // 2


def test_text_without_spaces_is_cut_anyway() -> None:
    windows = text_windows("x" * 10_000, max_windows=3)
    assert [len(window) for window in windows] == [WINDOW_CHARS] * 3


def test_one_window_budget_is_the_head() -> None:
    assert text_windows("HEAD. " + SENTENCE * 50, max_windows=1)[0].startswith("HEAD")


async def test_examples_are_embedded_once_under_concurrency() -> None:
    embedder = KeywordEmbedder(delay=0.01)
    index = ExampleIndex(["attack one", "cake two"])
    results = await asyncio.gather(*(index.similarities(embedder, ["attack"]) for _ in range(10)))
    assert embedder.calls.count(["attack one", "cake two"]) == 1
    assert all(result.shape == (2, 1) for result in results)
    assert results[0][0, 0] > 0.99 > results[0][1, 0]


async def test_examples_are_embedded_in_calls_the_embedder_accepts() -> None:
    embedder = KeywordEmbedder()
    await ExampleIndex([f"attack {number}" for number in range(300)]).matrix(embedder)
    assert [len(call) for call in embedder.calls] == [256, 44]


async def test_shared_embedder_joins_calls_in_flight() -> None:
    inner = KeywordEmbedder(delay=0.01)
    shared = SharedEmbedder(inner)
    first, second = await asyncio.gather(
        shared.embed(["attack", "cake"]), shared.embed(["cake", "weapon"])
    )
    assert inner.calls == [["attack", "cake"], ["weapon"]]
    assert first[1] == second[0]
    assert await shared.embed(["attack", "attack"]) == [first[0], first[0]]
    assert len(inner.calls) == 2


async def test_shared_embedder_survives_a_caller_that_times_out() -> None:
    inner = KeywordEmbedder(delay=0.05)
    shared = SharedEmbedder(inner)
    impatient = asyncio.ensure_future(asyncio.wait_for(shared.embed(["attack"]), 0.001))
    patient = asyncio.ensure_future(shared.embed(["attack"]))
    with pytest.raises(TimeoutError):
        await impatient
    assert len(await patient) == 1 and len(inner.calls) == 1


async def test_shared_embedder_forgets_failures_and_evicts_old_vectors() -> None:
    class Failing(KeywordEmbedder):
        async def embed(self, texts: object) -> list[list[float]]:
            raise RuntimeError("embedder down")

    shared = SharedEmbedder(Failing())
    with pytest.raises(RuntimeError):
        await shared.embed(["attack"])
    inner = KeywordEmbedder()
    small = SharedEmbedder(inner, max_entries=2)
    for text in ("attack", "cake", "weapon", "attack"):
        await small.embed([text])
    assert inner.calls == [["attack"], ["cake"], ["weapon"], ["attack"]]


async def test_a_caller_giving_up_does_not_cancel_the_examples_embedding() -> None:
    embedder = KeywordEmbedder(delay=0.05)
    index = ExampleIndex(["attack one", "cake two"])
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await index.matrix(embedder)
    matrix = await index.matrix(embedder)
    assert matrix.shape[0] == 2 and len(embedder.calls) == 1
