"""The pieces of a text each Presidio pattern recognizer of the PII check can match in, found
with cheap patterns, so that a recognizer runs only there (the rules are in ``pii``'s module
doc, under Speed)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

import regex
from presidio_analyzer import EntityRecognizer, PatternRecognizer

from services.guardrails.checks.phones import CACHE_SIZE, Window

# A Window is a [start, end) slice of the text. A Gate finds one entity's windows, given the
# text and its digit runs (found once per scan: two gates need them).
Gate = Callable[[str, list[Window]], list[Window]]

# Token edges in Presidio's engine, whose "\s" its patterns use ((?r) searches backwards).
_SPACE = regex.compile(r"\s")
_SPACE_BEFORE = regex.compile(r"(?r)\s")
# Runs of >= 9 digits joined by single '-', ' ' or '.': every SSN and card lies in one. In
# Presidio's own engine (and flags, set per recognizer below), so "\d" agrees with its patterns.
DIGIT_RUN = r"(?<!\d)\d(?:[- .]?\d){8,}"
_CARD_RUN = r"\d(?:[- ]?\d){12,}"  # 4 + 3 + 3 + 3 digits at least, single '-' or ' ' between
# Every IBAN starts with two letters and two digits after no letter or digit. Any letter and
# only ASCII before stand for the pattern's case-folded [A-Z] (supersets): no start is missed.
_IBAN_START = re.compile(r"(?<![0-9A-Za-z])[^\W\d_]{2}[0-9]{2}")
# The longest IBAN match: 2 letters, 2 digits, 7 blocks of 4 and one of 3, with separators.
_IBAN_SPAN = 44


def _tokens(trigger: re.Pattern[str], needle: str = "") -> Gate:
    """Whole whitespace-delimited tokens holding ``trigger``: e-mail and IP matches never hold
    whitespace. ``needle``, a substring every trigger holds, skips texts without one."""

    def gate(text: str, runs: list[Window]) -> list[Window]:
        out: list[Window] = []
        if needle and needle not in text:
            return out
        for m in trigger.finditer(text):
            if out and m.start() < out[-1][1]:
                continue
            floor = out[-1][1] if out else 0
            before = _SPACE_BEFORE.search(text, floor, m.start())
            after = _SPACE.search(text, m.end())
            out.append((before.end() if before else floor, after.start() if after else len(text)))
        return out

    return gate


def _ssn_runs(recognizer: EntityRecognizer, min_score: float) -> Gate:
    """Digit runs where one of the SSN patterns that can score ``min_score`` matches: with no
    validator to raise a score, a match scores its pattern's or nothing (so at the default bar
    only the dashed/spaced form counts, and an order id's nine bare digits are not looked at)."""
    flags = getattr(recognizer, "global_regex_flags", 0) or 0
    patterns = getattr(recognizer, "patterns", None)
    if (
        patterns is None
        or type(recognizer).validate_result is not PatternRecognizer.validate_result
    ):
        strong = None
    else:
        strong = [regex.compile(p.regex, flags) for p in patterns if p.score >= min_score]

    def gate(text: str, runs: list[Window]) -> list[Window]:
        # With the character on each side: the patterns' "\b" reads it.
        windows = [(max(0, s - 1), e + 1) for s, e in runs]
        if strong is None:
            return windows
        return [(s, e) for s, e in windows if any(p.search(text[s:e]) for p in strong)]

    return gate


def _card_runs(recognizer: EntityRecognizer) -> Gate:
    """Card runs holding a span that passes the recognizer's own validator (the Luhn check):
    a match failing it scores nothing. A match starts and ends where "\b" can, at the ends of
    the run's digit blocks, so only whole blocks with 13-19 digits (a card's lengths; the
    pattern takes 13-17) are tried; most runs of card-like digits fail (9 in 10 at random)."""
    flags = getattr(recognizer, "global_regex_flags", 0) or 0
    card = regex.compile(_CARD_RUN, flags)
    block = regex.compile(r"\d+", flags)
    validate = recognizer.validate_result

    # Cached: a resent prompt's cards would otherwise be Luhn-checked on every scan.
    @functools.lru_cache(maxsize=CACHE_SIZE)
    def may_hold_card(run: str) -> bool:
        blocks = block.findall(run)
        for i in range(len(blocks)):
            digits = ""
            for b in blocks[i:]:
                digits += b
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and validate(digits) is not False:
                    return True
        return False

    def gate(text: str, runs: list[Window]) -> list[Window]:
        return [
            (max(0, m.start() - 1), m.end() + 1)
            for s, e in runs
            for m in card.finditer(text, s, e)
            if may_hold_card(m.group())
        ]

    return gate


def _iban_starts(text: str, runs: list[Window]) -> list[Window]:
    """From the character before each possible IBAN start to past its longest match (the
    pattern's lookahead reads one more character)."""
    return [(max(0, m.start() - 1), m.start() + _IBAN_SPAN + 1) for m in _IBAN_START.finditer(text)]


def gate_for(entity: str, recognizer: EntityRecognizer, min_score: float) -> Gate:
    if entity == "EMAIL_ADDRESS":
        return _tokens(re.compile("@"), "@")
    if entity == "IP_ADDRESS":
        # IPv4 is a dotted quad; an IPv6 that is kept has three groups, so a ':' touches a
        # hex digit (a "range(n):" or "x[::2]" token is not read).
        return _tokens(re.compile(r"\w:|:\w|(?<=\d)\.\d{1,3}\.\d{1,3}\.\d"))
    if entity == "CREDIT_CARD":
        return _card_runs(recognizer)
    if entity == "US_SSN":
        return _ssn_runs(recognizer, min_score)
    if entity == "IBAN_CODE":
        return _iban_starts
    raise ValueError(f"no gate for {entity}")


def merge_windows(windows: Iterable[Window], length: int) -> list[Window]:
    out: list[Window] = []
    for start, end in sorted(windows):
        end = min(end, length)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
