"""The stream guard with the real PII and secrets checks: text goes out as soon as no finding
can still start in it (not a whole window later), and a streamed completion is still
redacted exactly as the whole text is, however it is chunked."""

from __future__ import annotations

import random

import pytest

from services.guardrails.checks.patterns import KeywordCheck, RegexCheck
from services.guardrails.checks.pii import PiiCheck
from services.guardrails.checks.secrets import SecretsCheck
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from services.guardrails.stream import StreamGuard

from . import test_pii, test_secrets


@pytest.fixture(scope="module")
def pipeline() -> GuardPipeline:
    checks = [GuardedCheck(PiiCheck(), "redact"), GuardedCheck(SecretsCheck(), "redact")]
    return GuardPipeline(checks, "output")


WORDS = [
    "the",
    "model",
    "answers",
    "questions",
    "about",
    "our",
    "weather",
    "and",
    "news",
    "as",
    "of",
    "today",
    "is",
    "so",
]
VALUES = [
    *test_pii.FRAGMENTS,
    *(value for _, value in test_secrets.TOKENS),
    test_secrets.LONG_JWT,
    test_secrets._pem("RSA PRIVATE KEY", 300),
    'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    "my SSN is 536221234",
    "Social Security Number: 536 22 1234",
    "jane.roe+billing@example.co.uk",
    "+44 20 7946 0958 ext. 12",
    "GB82WEST12345698765432",
    "tel$415-555-2671",
]


def _text(rng: random.Random) -> str:
    parts = [
        rng.choice(VALUES) if rng.random() < 0.35 else rng.choice(WORDS)
        for _ in range(rng.randint(1, 30))
    ]
    return "".join(part + rng.choice(test_pii.SEPARATORS) for part in parts)


def _chunks(text: str, rng: random.Random) -> list[str]:
    longest = rng.choice([1, 2, 5, 12, 40])
    out, at = [], 0
    while at < len(text):
        step = rng.randint(1, longest)
        out.append(text[at : at + step])
        at += step
    return out


async def _run(guard: StreamGuard, chunks: list[str]) -> list[str]:
    out = [(await guard.feed(chunk)).emit for chunk in chunks]
    out.append((await guard.finish()).emit)
    return out


@pytest.mark.parametrize("seed", range(60))
async def test_random_texts_and_chunkings_are_redacted_as_the_whole_text(
    pipeline: GuardPipeline, seed: int
) -> None:
    rng = random.Random(seed)
    text = _text(rng)
    out = await _run(StreamGuard(pipeline), _chunks(text, rng))
    assert "".join(out) == pipeline.scan(text).text, text


async def test_prose_goes_out_as_each_word_ends(pipeline: GuardPipeline) -> None:
    guard = StreamGuard(pipeline)
    sentence = "The model answers questions about the weather and the news, as of today. "
    received = ""
    for word in sentence.split(" ")[:-1]:
        received += word + " "
        await guard.feed(word + " ")
        assert "".join(guard._sent) == received
    # A word being written is held only until it ends.
    assert (await guard.feed("Thanks")).emit == ""
    assert (await guard.feed("!\n")).emit == "Thanks!\n"


async def test_a_value_being_written_is_held_whole_then_redacted(pipeline: GuardPipeline) -> None:
    guard = StreamGuard(pipeline)
    emitted = [
        (await guard.feed(chunk)).emit
        for chunk in ["Call me at +1 (415", ") 555-26", "71 or mail jane@", "example.org", " now"]
    ]
    emitted.append((await guard.finish()).emit)
    assert emitted == ["Call me at ", "", "<PHONE> or mail ", "", "<EMAIL> ", "now"]


async def test_context_read_before_a_value_is_kept_when_the_context_went_out(
    pipeline: GuardPipeline,
) -> None:
    # A cut may fall between "SSN is" and the number: the checks read the sent context again.
    guard = StreamGuard(pipeline, window=0)
    guard._behind = "my SSN is "  # as if that much had just been sent
    step = await guard.feed("536221234 thanks")
    rest = await guard.finish()
    assert step.emit + rest.emit == "<US_SSN> thanks"


ORDER_IDS = RegexCheck(
    "orders", {"order_id": r"\bORD-\d{4}-\d{6}\b", "ticket": r"(?i)ticket\s*#\s*\d{3,8}"}
)
BANNED = KeywordCheck("banned", ["nerve agent", "pipe bomb", "gun"])
# An operator's check, and pieces of text with its findings, near misses and prose.
OPERATOR_CHECKS = {
    "regex": (ORDER_IDS, ["ORD-2026-004512", "ticket # 12345", "Ticket#99", "ORD-2026-0045"]),
    "keywords": (
        BANNED,
        ["nerve agent", "nerve agents", "Nerve  agent", "pipe", "bomb", "gunner", "GUN"],
    ),
}


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("kind", sorted(OPERATOR_CHECKS))
async def test_an_operator_check_streams_like_the_whole_text(kind: str, seed: int) -> None:
    check, findings = OPERATOR_CHECKS[kind]
    rng = random.Random(seed)
    pieces = [*findings, *WORDS]
    text = "".join(rng.choice(pieces) + rng.choice([" ", ", ", "\n", ""]) for _ in range(25))
    pipeline = GuardPipeline([GuardedCheck(check, "redact")], "output")
    out = await _run(StreamGuard(pipeline), _chunks(text, rng))
    assert "".join(out) == pipeline.scan(text).text, text


async def test_an_operator_regex_holds_only_a_match_in_progress() -> None:
    guard = StreamGuard(GuardPipeline([GuardedCheck(ORDER_IDS, "redact")], "output"))
    assert (
        await guard.feed("Your order is ready and your ")
    ).emit == "Your order is ready and your "
    assert (await guard.feed("ticket # 12")).emit == ""
    assert (await guard.feed("34 is open")).emit == "<TICKET> is "
    assert (await guard.finish()).emit == "open"


async def test_keywords_hold_only_a_word_that_could_still_become_one() -> None:
    guard = StreamGuard(GuardPipeline([GuardedCheck(BANNED, "redact")], "output"))
    # Prose goes out word by word, not a keyword's length (13 characters) behind.
    assert (await guard.feed("The weather is")).emit == "The weather "
    assert (await guard.feed(" fine, a nerve")).emit == "is fine, a "
    assert (await guard.feed(" agent")).emit == ""
    assert (await guard.feed("s and")).emit == "nerve agents "
    assert (await guard.feed(" a gun")).emit == "and a "
    assert (await guard.feed(".")).emit == "<KEYWORD>."
    assert (await guard.finish()).emit == ""
