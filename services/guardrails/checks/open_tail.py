"""Where a finding could still start in a text that is still growing (a streamed completion).

A stream guard must hold back any text that more text could turn into (part of) a finding.
Holding back a fixed window (the longest finding) is always safe but delays the first token
by that window. A check can say more precisely where its findings could still start: at the
first position from which its patterns match all the rest of the text, or could if more text
followed. That is a partial match in the ``regex`` module's sense, anchored at the end.

``OpenTail`` asks that of a set of patterns whose matches cover every finding of a check
(the check's own patterns, or looser ones: a superset only holds back more). Text a
pattern reads around a match (``\\b``, lookbehinds, context words) is not the tail's
concern: the stream guard rescans a stretch of already-sent text before the unsent text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import regex

_LAST_SPACE = regex.compile(r"(?r)\s")
# A pattern's leading inline flags, e.g. "(?i)": they must stay at the very start.
_LEADING_FLAGS = re.compile(r"\A\(\?[aiLmsux]+\)")

PatternLike = re.Pattern[str] | regex.Pattern[str] | tuple[str, int]
"""A compiled ``re`` or ``regex`` pattern, or a pattern string with ``regex`` flags."""


class OpenTail:
    """The earliest start of a match, full or partial, of any of ``patterns`` that reaches
    the end of a text."""

    def __init__(self, patterns: Iterable[PatternLike]) -> None:
        self._anchored = [_anchored(pattern) for pattern in patterns]

    def start(self, text: str, since: int = 0) -> int:
        """Where in ``text[since:]`` a match could still be growing; ``len(text)`` if
        nowhere."""
        earliest = len(text)
        for pattern in self._anchored:
            match = pattern.search(text, since, partial=True)
            if match is not None and match.start() < earliest:
                earliest = match.start()
        return earliest


def last_token_start(text: str, since: int = 0) -> int:
    """Where the text's last run of non-space characters starts in ``text[since:]``
    (``len(text)`` after a space): a finding that holds no whitespace (an e-mail, an IP
    address) can still be growing only there. Far cheaper than their patterns."""
    space = _LAST_SPACE.search(text, since)
    return space.end() if space else since


def _anchored(pattern: PatternLike) -> regex.Pattern[str]:
    if isinstance(pattern, tuple):
        source, flags = pattern
    else:
        source, flags = pattern.pattern, _regex_flags(pattern)
    leading = _LEADING_FLAGS.match(source)
    prefix = leading.group(0) if leading else ""
    body = source[len(prefix) :]
    if flags & regex.VERBOSE:
        body += "\n"  # a trailing comment must not swallow what follows
    return regex.compile(f"{prefix}(?:{body})\\Z", flags)


def _regex_flags(pattern: re.Pattern[str] | regex.Pattern[str]) -> int:
    if isinstance(pattern, regex.Pattern):
        return pattern.flags
    flags = 0
    for flag in (re.IGNORECASE, re.MULTILINE, re.DOTALL, re.VERBOSE, re.ASCII):
        if pattern.flags & flag:
            flags |= getattr(regex, flag.name)
    return flags
