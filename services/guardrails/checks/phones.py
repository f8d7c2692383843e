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
  digits) goes to a region only if some of its digit blocks, taken whole (the matcher splits
  a run only at punctuation and parses what lies between), could be a valid number there:
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
from collections.abc import Iterable, Sequence

import phonenumbers
import regex
from phonenumbers import Leniency, PhoneMetadata

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


def _added_digits(meta: PhoneMetadata | None) -> int:
    """Digits a region's national-prefix transform rule can add: ``"473\\1"`` turns a 7-digit
    local number into a 10-digit one; a bare ``"\\2"`` only keeps digits that were written."""
    rule = meta.national_prefix_transform_rule if meta is not None else None
    return sum(c.isdigit() for c in re.sub(r"\\\d", "", rule or ""))


def _added_digits_by(rule: str) -> int | None:
    """Digits a transform rule adds at most (``None``: unbounded, it copies two groups)."""
    if len(re.findall(r"\\\d", rule)) > 1:
        return None
    return sum(c.isdigit() for c in re.sub(r"\\\d", "", rule))


def _shortest(code: int, parsed_as: str) -> int:
    """Fewest digits written for a valid national number of country calling code ``code``,
    parsed with ``parsed_as``'s metadata (whose transform rule applies)."""
    nsn = min(
        (
            min(meta.general_desc.possible_length, default=1)
            for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
            if (meta := PhoneMetadata.metadata_for_region_or_calling_code(code, region))
        ),
        default=1,
    )
    return max(1, nsn - _added_digits(PhoneMetadata.metadata_for_region(parsed_as)))


def _national_min_length(region: str) -> int:
    """Fewest digits and letters a phone run needs before ``region``'s matcher can find a
    number in it without a '+': its own national numbers, or any country's after an
    international prefix (whose own digits only add to the count)."""
    meta = PhoneMetadata.metadata_for_region(region)
    national = _shortest(meta.country_code, region) if meta is not None else 1
    return min(national, _international_min_length())


@functools.cache
def _international_min_length() -> int:
    # A number after an international prefix is parsed as its code's main region.
    return min(
        len(str(code)) + _shortest(code, phonenumbers.region_code_for_country_code(code))
        for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    )


# Number types ``phonenumbers.is_valid_number`` accepts (it reads no other descriptions).
_VALID_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)
Desc = tuple[frozenset[int], re.Pattern[str]]  # possible lengths (empty: any), pattern


def _desc(desc: phonenumbers.PhoneNumberDesc | None) -> Desc | None:
    """A number description as ``phonenumbers`` matches it: the length must be one of its
    possible lengths, if it lists any ("-1": none is), and the pattern must match in full."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _matches(desc: Desc, number: str) -> bool:
    lengths, pattern = desc
    return (not lengths or len(number) in lengths) and pattern.fullmatch(number) is not None


class _RegionRules:
    """What ``phonenumbers`` reads, for a number written without a '+' and parsed with
    ``region``, from its public metadata: the digits it may strip (international prefix,
    country calling code, national prefix or its transform rule) and the patterns a valid
    national number must match (the general description and one number type, of some region
    sharing the calling code)."""

    def __init__(self, region: str) -> None:
        meta = PhoneMetadata.metadata_for_region(region)
        self.region = region
        self.need = _national_min_length(region)
        self.known = meta is not None
        if meta is None:
            return
        code = meta.country_code
        self.idd = re.compile(meta.international_prefix) if meta.international_prefix else None
        self.code = str(code)
        # parse strips with the region's metadata, and again with the calling code's main
        # region's when it read the code off the digits: both, to be safe.
        main = PhoneMetadata.metadata_for_region_or_calling_code(
            code, phonenumbers.region_code_for_country_code(code)
        )
        self.prefixes = tuple(
            {
                (m.national_prefix_for_parsing, m.national_prefix_transform_rule or "")
                for m in (meta, main)
                if m is not None and m.national_prefix_for_parsing
            }
        )
        self.prefix_patterns = tuple((re.compile(p), rule) for p, rule in self.prefixes)
        # The matcher drops a number read with this region's code from neither a '+' nor the
        # digits when the code's main region formats it with a national prefix that was not
        # written (``ORD-338473`` as a German local number without its '0').
        home = PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_country_code(code))
        self.formats = tuple(
            (
                re.compile(f.leading_digits_pattern[-1]) if f.leading_digits_pattern else None,
                re.compile(f.pattern),
                _prefix_required(f),
            )
            for f in ((home.number_format or ()) if home is not None else ())
        )
        self.valid: list[tuple[Desc, tuple[Desc, ...]]] = []
        for name in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
            other = PhoneMetadata.metadata_for_region_or_calling_code(code, name)
            general = _desc(other.general_desc) if other is not None else None
            if general is None:
                continue
            types = tuple(
                d for t in _VALID_TYPES if (d := _desc(getattr(other, t, None))) is not None
            )
            self.valid.append((general, types))
        # A quick first test for the many candidates that fit no region of the code (the +1
        # code alone has 25): a length some region lists, and any region's general pattern.
        lengths = [general[0] for general, _ in self.valid]
        self.lengths = frozenset().union(*lengths) if all(lengths) else None
        self.any_general = re.compile("|".join(f"(?:{g[1].pattern})" for g, _ in self.valid))
        # Fewest digits a national number can be written with: stripping only shortens it,
        # and each of the two strips may apply a transform rule adding its literal digits
        # (a rule copying more than one group could add more: then no bound).
        rules = [rule for _, rule in self.prefixes]
        added = max((_added_digits_by(rule) for rule in rules), default=0)
        shortest = min(self.lengths, default=1) if self.lengths else 1
        self.shortest = 1 if added is None else max(1, shortest - 2 * added)

    def may_find(self, digits: str, blocks: Sequence[Window]) -> bool:
        """Whether the matcher, for this region, can find a number in a run whose digits are
        ``digits`` and whose digit blocks are ``blocks`` (no letters, '+' or extension)."""
        if not self.known:
            return True
        tries = [digits[b:e] for b, _ in blocks for _, e in blocks if e > b]
        if self.idd is not None and any(self.idd.match(d) for d in tries):
            return True  # any country's number may follow
        return any(len(d) >= self.shortest and self._may_be_valid(d) for d in tries)

    def _may_be_valid(self, digits: str) -> bool:
        # What parse may leave of the digits besides all of them (kept apart: only the
        # number read as written can lack a required national prefix).
        numbers: set[str] = set()
        if digits.startswith(self.code):
            rest = digits[len(self.code) :]
            numbers.add(rest)
            numbers.update(self._strip(rest))
        for number in [digits, *numbers]:
            numbers.update(self._strip(number))
        if self._is_valid(digits) and self._prefix_ok(digits):
            return True
        return any(self._is_valid(n) for n in numbers)

    def _prefix_ok(self, digits: str) -> bool:
        """Whether the matcher may keep ``digits`` read as a whole national number: its
        format (the first whose leading digits and pattern fit, as ``format_number`` picks
        one) needs no national prefix, or one may have been written (a prefix pattern
        matches: the matcher strips it from the written digits to tell)."""
        if any(pattern.match(digits) for pattern, _ in self.prefix_patterns):
            return True
        for leading, pattern, required in self.formats:
            if (leading is None or leading.match(digits)) and pattern.fullmatch(digits):
                return not required
        return True

    def _strip(self, number: str) -> Iterable[str]:
        for pattern, rule in self.prefix_patterns:
            if m := pattern.match(number):
                yield number[m.end() :]
                if rule:
                    yield pattern.sub(rule, number, count=1)

    def _is_valid(self, number: str) -> bool:
        if self.lengths is not None and len(number) not in self.lengths:
            return False
        if not self.any_general.fullmatch(number):
            return False
        return any(
            _matches(general, number) and any(_matches(t, number) for t in types)
            for general, types in self.valid
        )


def _prefix_required(fmt: phonenumbers.NumberFormat) -> bool:
    """Whether a number in this format must be written with its national prefix to be
    matched: a formatting rule that adds digits to the first group (``"0\\1"``; one that
    only brackets it, ``"(\\1)"``, adds none) and is not optional."""
    rule = fmt.national_prefix_formatting_rule or ""
    added = re.sub(r"\\1", "", rule)
    return not fmt.national_prefix_optional_when_formatting and any(c.isdigit() for c in added)


@functools.cache
def region_rules(region: str) -> _RegionRules:
    return _RegionRules(region)


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
