"""Phone numbers for the PII check: which runs of a text can hold one, in which regions, and
what phonenumbers' matcher finds there, equal to one Presidio PhoneRecognizer call over the
whole text (``PiiCheck.scan_whole_text``) at a fraction of its cost.

Only public phonenumbers APIs and metadata are used; the few private constants the matcher's
candidate pattern is built from are copied, not imported.

- Phones: ``phonenumbers``' matcher (its public API, per region) runs only on "phone runs":
  digit blocks joined the way its candidate pattern can join them (its punctuation, and
  commas, tabs and ':' only around an extension word), plus one character before and three
  after (it rejects a letter or currency sign next to a number and a ``:mm`` time suffix).
  No candidate crosses a run's edges, so per-run results equal whole-text ones. A region runs
  on a run only if the run has at least as many digits and letters as the shortest number
  that region can find without a '+' (its own national numbers, or any country's after an
  international prefix), from ``phonenumbers``' public metadata and allowing for the digits a
  national-prefix transform rule adds. Years, prices, versions and times are too short.
- A run of ASCII digits and punctuation (no '+', letter or extension; <= 8 blocks of <= 20
  digits) goes to a region (``phone_regions``) only if some of its digit blocks, taken
  whole (the matcher splits a run only at punctuation and parses what lies between), could
  be a valid number there:
  after any prefixes ``parse`` may strip for that region (its international prefix: then
  anything may follow; its calling code; its or its code's main region's national prefix,
  or that prefix's transform rule applied), the digits left must match the general
  description and one number type of a region sharing its calling code, with a listed
  length (what ``is_valid_number`` requires), and if it is the whole digits read as they
  stand (nothing stripped), the format its calling code's main region picks for it must not
  require a national prefix unless one of the prefixes for parsing starts the digits (the
  matcher drops such a number when the prefix is missing: ``TCK-901820`` is not Berlin's
  ``030 901820``, though ``TCK-338473`` is a German number, no format fitting it). All of
  it is public ``PhoneMetadata``; every
  branch ``parse`` may take is kept, so the filter can only err towards running the matcher.
  Checked against the matcher on ~700,000 generated run/region pairs (the default regions,
  50 with unusual prefix rules, and all 245; real numbers of every region and type in every
  format, mutated, regrouped and concatenated, and random groupings): it never skipped a
  pair the matcher finds a number in, and skips ~60% of them. The national-prefix rule was
  checked the same way, and on all 1,000,000 six-digit blocks for DE (it skips 955,270, and
  the matcher finds none of them) and 150,000 random 3-12 digit blocks over 19 regions.
- A run whose first '+' or digit is a '+' goes to one region first. If that finds a number
  spanning the whole run, read from the '+' and the calling code after it, every region finds
  just that: it is the matcher's first try on the run, and ``parse`` uses the default region
  only for a number without a '+' (it retries one whose calling code is unknown without the
  '+', hence the code check). The other regions are skipped.
- Known, accepted divergence from one whole-text call: ``phonenumbers`` stops after 65,535
  rejected candidates per call; per run it never does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import phonenumbers
import regex
from phonenumbers import Leniency

from services.guardrails.checks.phone_regions import region_rules

STRICT_GROUPING = Leniency.STRICT_GROUPING
Window = tuple[int, int]
"""A [start, end) slice of a text."""
# Slices are short; 4096 of them cover a long conversation's numbers, e-mails and tokens.
CACHE_SIZE = 4096


# --- Phone runs: a superset of what phonenumbers' candidate pattern can join. ---
# Its punctuation (phonenumberutil._VALID_PUNCTUATION; "x" is a separator there) and the
# characters that may open a number. Copied rather than imported: they are private.
_PUNCT = (
    "\\-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000"
    "()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e"
)
_LEAD = "(\\[\uff08\uff3b+\uff0b"
# Extension words: the only place where ',' '\t' ':' '=' ';' '#' may sit between digits.
_EXT_WORD = (
    "e?xt(?:ensi(?:o\u0301?|\u00f3))?n?|\uff45?\uff58\uff54\uff4e?|\u0434\u043e\u0431|anexo"
    "|int|\uff49\uff4e\uff54|[x\uff58#\uff03~\uff5e]"
)
_PHONE_GAP = f"[{_PUNCT}]*|;ext=|[{_PUNCT}\\t,]*(?:{_EXT_WORD})[:.\uff0e]?[{_PUNCT}\\t,]*"
# Written to start with one character class, which lets ``re`` skip ahead fast.
PHONE_RUN = re.compile(
    f"[{_LEAD}\\d](?:(?<=[{_LEAD}])(?:[{_PUNCT}]*[{_LEAD}])*[{_PUNCT}]*\\d+|(?<=\\d)\\d*)"
    f"(?:(?:{_PHONE_GAP})\\d+)*[#\uff03]?",
    re.IGNORECASE,
)
# What may still extend a run that the text ends after: a gap, then the next digit block.
_GAP_THEN_DIGIT = regex.compile(f"(?:{_PHONE_GAP})\\d", regex.IGNORECASE)
# What opens a run before its first digit, at the end of a text.
_OPENING = re.compile(f"[{_LEAD}][{_LEAD}{_PUNCT}]*\\Z", re.IGNORECASE)
_PLUS = re.compile("[+\uff0b]")
# Letters count too: the parser reads "x" and other letters as keypad digits.
_ALNUM = re.compile(r"[^\W_]")
# The matcher reads one character before a candidate and up to three after (":mm").
_BEFORE, READS_AFTER_RUN = 1, 3
# Decisions (see the module doc): a run written as an ISO date, or grouped as a card number
# is printed (four groups of four digits), is not a phone number and holds none.
NOT_A_PHONE = re.compile(
    r"(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}"
)


# Runs of ASCII digits and the matcher's ASCII punctuation other than "x": every string the
# matcher parses in one is a whole number of its digit blocks (the matcher splits only at
# punctuation, and a block of <= 20 digits is never cut: its candidate pattern takes up to 21
# blocks of up to 20 digits), with no '+', letters or extension. Others skip the filter.
PLAIN_RUN = re.compile(r"[0-9 ()\[\].\-/~]+")
_ASCII_BLOCK = re.compile("[0-9]+")
_MAX_BLOCKS, _MAX_BLOCK_DIGITS = 8, 20
# A '+' and the three digits after it, ASCII, with no letter or other digit between them:
# parse reads the calling code from these in any mode (letters may become keypad digits,
# and with three letters in a number it drops non-ASCII digits).
_PLUS_AND_CODE = re.compile("[+\uff0b](?:[^A-Za-z\\d]*[0-9]){3}")
_NOT_ASCII_DIGIT = re.compile("[^0-9]")
_START_CHAR = re.compile("[+\uff0b\\d]")  # parse starts a number at the first of these


def _international_match(match: phonenumbers.PhoneNumberMatch) -> bool:
    """Whether ``match`` was parsed from its '+' and the calling code after it, which leaves
    the default region no part in it (a '+' before an unknown code is retried without)."""
    raw = match.raw_string
    first = _START_CHAR.search(raw)
    if first is None or first.group() not in "+\uff0b":
        return False
    code = _PLUS_AND_CODE.match(raw, first.start())
    if code is None:
        return False
    return _NOT_ASCII_DIGIT.sub("", code.group()).startswith(str(match.number.country_code))


def _find(window: str, region: str) -> list[phonenumbers.PhoneNumberMatch]:
    return list(phonenumbers.PhoneNumberMatcher(window, region, leniency=STRICT_GROUPING))


@functools.lru_cache(maxsize=CACHE_SIZE)
def run_phone_spans(
    window: str, start: int, end: int, regions: tuple[str, ...]
) -> tuple[Window, ...]:
    """What Presidio's PhoneRecognizer finds for these regions in the phone run
    ``window[start:end]`` (``window`` adds the characters the matcher reads around it).
    Duplicates and contained spans are kept: ``merge_overlaps`` folds them as Presidio's
    dedup would."""
    run = window[start:end]
    if _PLUS.search(run):
        first = _find(window, regions[0])
        inside = [m for m in first if m.start >= start and m.end <= end]
        # The matcher's first try on a run is the whole run; when it is an international
        # number, nothing region-dependent ran before it and it reaches the run's end.
        if (
            len(inside) == 1
            and (inside[0].start, inside[0].end) == (start, end)
            and _international_match(inside[0])
        ):
            return ((start, end),)
        found = [(m.start, m.end) for m in first]
        rest = regions[1:]
    else:
        found = []
        chars = len(_ALNUM.findall(run))
        rules = [r for r in map(region_rules, regions) if chars >= r.need]
        if rules and PLAIN_RUN.fullmatch(run):
            blocks = [m.span() for m in _ASCII_BLOCK.finditer(run)]
            if len(blocks) <= _MAX_BLOCKS and all(e - s <= _MAX_BLOCK_DIGITS for s, e in blocks):
                digits = "".join(run[s:e] for s, e in blocks)
                at, offsets = 0, []
                for s, e in blocks:
                    offsets.append((at, at + e - s))
                    at += e - s
                rules = [r for r in rules if r.may_find(digits, offsets)]
        rest = tuple(r.region for r in rules)
    found.extend((m.start, m.end) for region in rest for m in _find(window, region))
    return tuple(set(found))


def phone_spans(text: str, regions: tuple[str, ...], shortest_run: int) -> set[Window]:
    """Every span of ``text`` that Presidio's PhoneRecognizer would report for ``regions``;
    runs shorter than ``shortest_run`` characters cannot hold a number in any of them."""
    spans: set[Window] = set()
    for run in PHONE_RUN.finditer(text):
        start, end = run.span()
        # Most prose numbers (years, prices, versions) are too short for any region.
        if end - start < shortest_run or NOT_A_PHONE.fullmatch(run.group()):
            continue
        lo = max(0, start - _BEFORE)
        spans.update(
            (lo + s, lo + e)
            for s, e in run_phone_spans(
                text[lo : end + READS_AFTER_RUN], start - lo, end - lo, regions
            )
            if lo + s >= start and lo + e <= end
        )
    return spans


def open_run_start(text: str, since: int = 0) -> int:
    """Where in ``text[since:]`` a phone run starts that more text could still extend, or
    whose end the matcher reads past (``len(text)`` if none): the rest of the text is a
    gap it may go on after, or its opening before the first digit. A run is read whole by
    the matcher, so a number found early in a growing run may still change."""
    for run in PHONE_RUN.finditer(text, since):
        start, end = run.span()
        if end + READS_AFTER_RUN >= len(text):
            return start
        if _GAP_THEN_DIGIT.fullmatch(text, end, partial=True) is not None:
            return start
    opening = _OPENING.search(text, since)
    return opening.start() if opening else len(text)


def not_a_phone_runs(text: str) -> list[Window]:
    """Runs that are never phone numbers (ISO dates, 4-4-4-4 card layouts)."""
    return [m.span() for m in PHONE_RUN.finditer(text) if NOT_A_PHONE.fullmatch(m[0])]


def shortest_run(regions: Iterable[str]) -> int:
    return min((region_rules(region).need for region in regions), default=0)
