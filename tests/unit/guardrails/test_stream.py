from __future__ import annotations

import asyncio
import random
import re

import pytest

from services.guardrails.checks.patterns import KeywordCheck
from services.guardrails.findings import Finding
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from services.guardrails.stream import StreamGuard
from tests.unit.guardrails.fakes import AsyncMarkerCheck, CardCheck, RaisingCheck, WordCheck

CARD = "4111222233334444"
TEXT = f"Sure. Your card {CARD} is on file; the total is 12.50 on 2024-01-02. Bye."
REDACTED = "Sure. Your card <CREDIT_CARD> is on file; the total is 12.50 on 2024-01-02. Bye."


def guard(*checks: GuardedCheck, window: int = 0) -> StreamGuard:
    return StreamGuard(GuardPipeline(checks, "output"), window=window)


def redacting() -> StreamGuard:
    return guard(GuardedCheck(CardCheck(), "redact"))


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


async def run(stream: StreamGuard, chunks: list[str]) -> list[str]:
    out = [(await stream.feed(chunk)).emit for chunk in chunks]
    out.append((await stream.finish()).emit)
    return out


def card_chunkings() -> list[list[str]]:
    at = TEXT.index(CARD)
    return [
        split(TEXT, [at + 8]),  # 2 pieces of the card
        split(TEXT, [at + 5, at + 11]),  # 3 pieces
        split(TEXT, list(range(at + 1, at + 16))),  # 16 pieces, one digit each
        list(TEXT),  # one character per chunk
        [TEXT],
    ]


@pytest.mark.parametrize("chunks", card_chunkings())
async def test_a_card_split_across_chunks_is_redacted_and_never_leaks(chunks: list[str]) -> None:
    out = await run(redacting(), chunks)
    assert "".join(out) == REDACTED
    for piece in out:
        assert CARD[:4] not in piece and CARD[-4:] not in piece
    # Each chunk is the next slice of the redacted text, whose only digits are the price and
    # the date: no chunk carries any digit of the card.
    position = 0
    for piece in out:
        assert piece == REDACTED[position : position + len(piece)]
        position += len(piece)
    assert not any(char.isdigit() for char in re.sub(r"12\.50|2024-01-02", "", REDACTED))


@pytest.mark.parametrize("seed", range(200))
async def test_random_chunkings_equal_the_whole_text_redaction(seed: int) -> None:
    rng = random.Random(seed)
    digits = "".join(rng.choice("0123456789 ") for _ in range(rng.randint(0, 120)))
    text = f"a{digits}b {rng.choice(['', CARD, CARD + '99'])} c{digits[::-1]}"
    pipeline = GuardPipeline(
        [
            GuardedCheck(CardCheck(), "redact"),
            GuardedCheck(WordCheck("w", "99 9", "NINES"), "redact"),
        ],
        "output",
    )
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(0, 30))))
    out = await run(StreamGuard(pipeline), split(text, cuts))
    assert "".join(out) == pipeline.scan(text).text
    # No emitted chunk ends inside a run that the whole-text scan redacted.
    assert all("<CREDIT_CARD" not in piece or ">" in piece for piece in out)


async def test_nothing_within_the_window_is_sent_early() -> None:
    stream = redacting()
    assert stream.window == 16
    assert (await stream.feed("0123456789")).emit == ""
    step = await stream.feed(", abcdefghijklmnop qrs")
    # 16 held back, and the cut moved back to the last word boundary.
    assert step.emit == "0123456789, " and not step.blocked
    assert (await stream.finish()).emit == "abcdefghijklmnop qrs"


async def test_the_cut_prefers_a_word_boundary() -> None:
    stream = guard(GuardedCheck(KeywordCheck("k", ["kill"]), "block"), window=6)
    # A plain cut at len - 6 would send "we s"; the next scan would see "kill" at its start.
    assert (await stream.feed("we skill x")).emit == "we "
    rest = await stream.finish()
    assert not rest.blocked and rest.emit == "skill x"


async def test_a_block_mid_stream_stops_all_output() -> None:
    stream = guard(GuardedCheck(CardCheck(), "block"))
    sent = [(await stream.feed(piece)).emit for piece in ["Hello there, your card is 4111", "2222"]]
    step = await stream.feed("33334444 and more text that follows")
    assert step.blocked and step.emit == ""
    assert (step.blocked_by.check, step.blocked_by.category) == ("pii", "CREDIT_CARD")
    assert (await stream.feed("more")).blocked and (await stream.feed("more")).emit == ""
    assert (await stream.finish()).blocked
    assert not any(char.isdigit() for char in "".join(sent))
    assert stream.summary().blocked_by.start == len("Hello there, your card is ")


async def test_a_block_in_the_last_chunk_is_caught_at_finish() -> None:
    stream = guard(GuardedCheck(CardCheck(), "block"))
    first = await stream.feed(f"done: {CARD}")
    assert not first.blocked and first.emit == "done: "
    assert (await stream.finish()).blocked


async def test_a_partial_match_held_back_does_not_block_early() -> None:
    # Twelve digits now might become a card later; they do not, so nothing blocks.
    stream = guard(GuardedCheck(CardCheck(), "block"))
    first = await stream.feed("order 123456789012")
    rest = await stream.finish()
    assert not first.blocked and not rest.blocked
    assert first.emit + rest.emit == "order 123456789012"


async def test_fail_closed_check_blocks_the_stream_and_fail_open_is_recorded() -> None:
    closed = guard(GuardedCheck(RaisingCheck("secrets"), fail="closed"))
    assert (await closed.feed("anything")).blocked_by.category == "CHECK_FAILED"
    opened = guard(GuardedCheck(RaisingCheck("secrets"), fail="open"))
    assert "".join(await run(opened, ["a", "b"])) == "ab"
    assert [f.check for f in opened.summary().failures] == ["secrets"]  # once, not per chunk


async def test_summary_counts_each_redaction_and_flag_once_with_stream_offsets() -> None:
    stream = guard(
        GuardedCheck(CardCheck(), "redact"), GuardedCheck(WordCheck("w", "Bye", "BYE"), "flag")
    )
    await run(stream, list(TEXT))
    summary = stream.summary()
    assert [(f.start, f.end) for f in summary.redactions] == [
        (TEXT.index(CARD), TEXT.index(CARD) + 16)
    ]
    assert [(f.category, f.start) for f in summary.flags] == [("BYE", TEXT.index("Bye"))]


@pytest.mark.parametrize("seed", range(100))
async def test_random_chunkings_of_whole_word_keywords_equal_the_whole_text(seed: int) -> None:
    rng = random.Random(seed)
    words = ["kill", "skill", "killer", "a", "kill.", "(kill)", "ok", "ski"]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
    pipeline = GuardPipeline([GuardedCheck(KeywordCheck("k", ["kill"]), "redact")], "output")
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(0, 25))))
    assert "".join(await run(StreamGuard(pipeline), split(text, cuts))) == pipeline.scan(text).text


def test_the_window_is_never_below_the_longest_finding() -> None:
    assert guard(GuardedCheck(CardCheck()), window=4).window == 16
    assert guard(GuardedCheck(CardCheck()), window=64).window == 64


async def test_a_whole_text_judge_reads_everything_received_from_time_to_time() -> None:
    judge = AsyncMarkerCheck("judge", "bomb", "S9")
    stream = StreamGuard(GuardPipeline([GuardedCheck(judge)], "output"), running_every=10)
    assert not (await stream.feed("how to make a ")).blocked  # 14 characters: judged
    await asyncio.sleep(0.01)
    assert judge.seen[-1][0] == "how to make a "
    assert not (await stream.feed("bomb")).blocked  # 4 new characters: not judged yet
    assert not (await stream.feed(" at home")).blocked  # judged in the background
    await asyncio.sleep(0.01)
    assert (await stream.feed(".")).blocked_by == Finding("judge", "S9", 0, 0)
    assert (await stream.feed("more")).emit == "" and (await stream.finish()).blocked


async def test_the_stream_does_not_wait_for_a_slow_judge_but_its_end_does() -> None:
    judge = AsyncMarkerCheck("judge", "bomb", "S9", delay_s=0.05)
    pipeline = GuardPipeline([GuardedCheck(judge, timeout_ms=1000)], "output")
    stream = StreamGuard(pipeline, running_every=4)
    assert (await stream.feed("a bomb ")).emit == "a bomb "  # sent while being judged
    assert (await stream.feed("and more")).emit == "and more"
    assert (await stream.finish()).blocked_by.category == "S9"


async def test_the_end_of_a_stream_is_always_judged() -> None:
    judge = AsyncMarkerCheck("judge", "bomb", "S9")
    stream = StreamGuard(GuardPipeline([GuardedCheck(judge)], "output"), running_every=1000)
    assert (await stream.feed("a bomb")).emit == "a bomb"
    assert (await stream.finish()).blocked_by.category == "S9"


async def test_a_final_check_reads_the_whole_sent_completion_once() -> None:
    final = AsyncMarkerCheck("json", "{", "INVALID_JSON")
    stream = StreamGuard(
        GuardPipeline(
            [GuardedCheck(CardCheck(), "redact"), GuardedCheck(final, streamed="final")],
            "output",
        )
    )
    out = await run(stream, ["no ", f"card {CARD} ", "here"])
    assert "".join(out) == "no card <CREDIT_CARD> here"
    assert [text for text, _ in final.seen] == ["no card <CREDIT_CARD> here"]
