from __future__ import annotations

import pytest

from services.guardrails.check_config import (
    KeywordsCheckConfig,
    MaxPromptTokensCheckConfig,
    RegexCheckConfig,
    TopicsCheckConfig,
)
from services.guardrails.checks.length import MaxPromptTokensCheck
from services.guardrails.checks.patterns import KeywordCheck, RegexCheck
from services.guardrails.factory import GuardDependencyError, build_check, build_pipeline
from services.guardrails.findings import Finding, GuardContext


def spans(findings: list[Finding], text: str) -> list[tuple[str, str]]:
    return [(f.category, text[f.start : f.end]) for f in findings]


def test_regex_categories_are_pattern_names_upper_cased() -> None:
    check = RegexCheck("internal", {"ticket": r"TCK-\d{6}", "host": r"[a-z]+\.corp"})
    text = "see TCK-123456 on build.corp and TCK-654321"
    assert sorted(spans(check.scan(text), text)) == [
        ("HOST", "build.corp"),
        ("TICKET", "TCK-123456"),
        ("TICKET", "TCK-654321"),
    ]
    assert check.scan("ticket TCK-12 on build.example") == []


def test_regex_from_config_keeps_case_flag_and_bound() -> None:
    config = RegexCheckConfig(
        name="t", patterns={"ticket": r"tck-\d{3}"}, ignore_case=True, max_match_chars=40
    )
    check = RegexCheck.from_config(config)
    assert check.max_match_chars == 40 and check.name == "t"
    assert len(check.scan("TCK-123")) == 1


def test_regex_default_bound_is_256() -> None:
    assert RegexCheck("r", {"a": "a"}).max_match_chars == 256


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        ("Tell me about Project Falcon.", ["Project Falcon"]),
        ("project falcons are birds", []),  # whole word
        ("the classic", []),
        ("a bomb, then BOMB!", ["bomb", "BOMB"]),
    ],
)
def test_keywords_whole_word_case_insensitive(text: str, hits: list[str]) -> None:
    check = KeywordCheck("keywords", ["project falcon", "bomb", "ass"])
    assert [text[f.start : f.end] for f in check.scan(text)] == hits
    assert all(f.category == "KEYWORD" for f in check.scan(text))


def test_keywords_case_sensitive_and_substring() -> None:
    check = KeywordCheck("k", ["Falcon"], case_sensitive=True, whole_word=False)
    assert len(check.scan("Falcons")) == 1
    assert check.scan("falcon") == []
    assert check.max_match_chars == len("Falcon")


def test_keywords_prefer_the_longest_phrase_and_bound_covers_lookarounds() -> None:
    check = KeywordCheck("k", ["credit card", "credit card number"])
    text = "my credit card number is"
    assert spans(check.scan(text), text) == [("KEYWORD", "credit card number")]
    assert check.max_match_chars == len("credit card number") + 2


def test_keywords_treat_regex_characters_literally() -> None:
    check = KeywordCheck("k", ["a.b"], whole_word=False)
    assert check.scan("axb") == [] and len(check.scan("a.b")) == 1


def counted(tokens: int) -> GuardContext:
    async def count() -> int:
        return tokens

    return GuardContext(count_prompt_tokens=count)


async def test_max_prompt_tokens_is_a_whole_request_verdict() -> None:
    check = MaxPromptTokensCheck("len", 3)
    assert await check.scan("ignored", counted(3)) == []
    assert await check.scan("ignored", counted(4)) == [Finding("len", "PROMPT_TOO_LONG", 0, 0)]
    assert check.max_match_chars == 0
    with pytest.raises(ValueError, match="token counter"):
        await check.scan("x", GuardContext())


def test_factory_builds_configured_kinds_and_delegates_others() -> None:
    keywords = build_check(KeywordsCheckConfig(words=["x"]), "input")
    assert isinstance(keywords, KeywordCheck)
    tokens = build_check(MaxPromptTokensCheckConfig(limit=3, name="length"), "input")
    assert isinstance(tokens, MaxPromptTokensCheck) and tokens.name == "length"
    with pytest.raises(GuardDependencyError, match="needs a service"):
        build_check(TopicsCheckConfig(topics={"weapons": ["guns"]}), "input")
    configs = [
        RegexCheckConfig(patterns={"a": "a"}, on="input"),
        KeywordsCheckConfig(words=["x"], on="output", action="flag"),
    ]
    pipeline = build_pipeline(configs, "output")
    assert [(g.check.name, g.action) for g in pipeline.checks] == [("keywords", "flag")]
