"""Operator-written block lists: named regular expressions and keywords."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import regex

from services.guardrails.check_config import KeywordsCheckConfig, RegexCheckConfig
from services.guardrails.checks.open_tail import OpenTail
from services.guardrails.findings import Finding

DEFAULT_MAX_MATCH_CHARS = 256


class RegexCheck:
    """Each named pattern reports its matches under its name upper-cased."""

    def __init__(
        self,
        name: str,
        patterns: Mapping[str, str],
        *,
        ignore_case: bool = False,
        max_match_chars: int = DEFAULT_MAX_MATCH_CHARS,
    ) -> None:
        flags = re.IGNORECASE if ignore_case else 0
        self.name = name
        self._patterns = [
            (key.upper(), re.compile(value, flags)) for key, value in patterns.items()
        ]
        self._max_match_chars = max_match_chars
        self._open_tail = _open_tail([pattern for _, pattern in self._patterns])

    @classmethod
    def from_config(cls, config: RegexCheckConfig) -> RegexCheck:
        return cls(
            config.check_name,
            config.patterns,
            ignore_case=config.ignore_case,
            max_match_chars=config.max_match_chars,
        )

    @property
    def max_match_chars(self) -> int:
        # Configured, not derived: Python cannot bound a regex's match length in general.
        return self._max_match_chars

    def open_from(self, text: str) -> int:
        return _open_from(self._open_tail, text, self._max_match_chars)

    def scan(self, text: str) -> list[Finding]:
        return [
            Finding(self.name, category, match.start(), match.end())
            for category, pattern in self._patterns
            for match in pattern.finditer(text)
            if match.end() > match.start()
        ]


class KeywordCheck:
    """Words or phrases, matched literally; every hit is category ``KEYWORD``."""

    category = "KEYWORD"

    def __init__(
        self,
        name: str,
        words: Sequence[str],
        *,
        case_sensitive: bool = False,
        whole_word: bool = True,
    ) -> None:
        # Longest first so that "credit card number" wins over "credit card".
        alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
        pattern = f"(?<!\\w)(?:{alternatives})(?!\\w)" if whole_word else f"(?:{alternatives})"
        self.name = name
        self._pattern = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
        # The lookarounds read one character either side of the word.
        self._max_match_chars = max(len(word) for word in words) + (2 if whole_word else 0)
        self._open_tail = _open_tail([self._pattern])

    @classmethod
    def from_config(cls, config: KeywordsCheckConfig) -> KeywordCheck:
        return cls(
            config.check_name,
            config.words,
            case_sensitive=config.case_sensitive,
            whole_word=config.whole_word,
        )

    @property
    def max_match_chars(self) -> int:
        return self._max_match_chars

    def open_from(self, text: str) -> int:
        return _open_from(self._open_tail, text, self._max_match_chars)

    def scan(self, text: str) -> list[Finding]:
        return [
            Finding(self.name, self.category, match.start(), match.end())
            for match in self._pattern.finditer(text)
        ]


def _open_tail(patterns: list[re.Pattern[str]]) -> OpenTail | None:
    # A stream holds back only where a pattern may still be matching (see open_tail); a
    # pattern the ``regex`` module cannot compile keeps the whole window instead.
    try:
        return OpenTail(patterns)
    except regex.error:
        return None


def _open_from(open_tail: OpenTail | None, text: str, max_match_chars: int) -> int:
    since = max(0, len(text) - max_match_chars)
    return open_tail.start(text, since) if open_tail else since
