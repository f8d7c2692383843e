"""PII check: Microsoft Presidio's regex recognizers, no spaCy model, no downloads.

Presidio runs here with its no-op NLP engine, so only pattern/validator recognizers work
(cards are Luhn-checked, IBANs checksum-checked, IPs parsed by ``ipaddress``, phones by
``phonenumbers``). Its context words ("ssn", "ip") need lemmas, which the no-op engine does
not produce, so context never raises a score; the one place that hurts (an SSN written as
nine bare digits) is covered by a small context-bound recognizer below.

Decisions:
- A dotted quad that is a valid IPv4 (``1.2.3.4``) is an IP address even when it was meant
  as a version: the text alone cannot tell them apart. ``1.2.3``, ``v1.2.3.4`` and
  ``999.1.1.1`` are not.
- A dotted quad inside a longer dotted run (``1.2.3.4.5``) is a version, not an IP.
- IPv6 needs at least three hex groups (``2001:db8::1``); ``::1``, ``1::2`` are dropped, since
  in code they are Python slices (``x[1::2]``) far more often than addresses.
- Phone numbers: any valid number in international form (``+44 20 ...``), or in the national
  format of ``phone_regions``, matched with ``phonenumbers``' STRICT_GROUPING leniency.
  Presidio's default (VALID) read the order id ``ORD-2026-004512`` as the DC number
  202-600-4512 and ``123-456-7890`` as Indian; strict grouping wants the digits grouped the
  way the region writes them. Presidio's default regions also hold "UK" and "FE", which are
  not ``phonenumbers`` regions (GB is). A bare 10-digit id that is a valid number in one of
  the regions (``4155552671``) is still reported: nothing in the text tells them apart.
- A run of digits written as an ISO date (``2024-05-12``, years 1900-2099) or grouped the way
  card numbers are printed (``4111 1111 1111 1684``: four groups of four joined by one ' ' or
  '-') is not a phone number and holds none. ``phonenumbers`` finds none in those dates for
  the default regions (all 595,200 date/region pairs checked), but for DE it reads such a
  card layout starting with 49 as a German number written with its country code
  (``4924 8984 2266 5327``) and a group like ``1684`` as a local number. Where the card is
  valid, its finding covered those anyway.

Speed. The cheap checks share p50 <= 1 ms on a 4,000-character prompt; one Presidio call on
such a text took ~55 ms, nearly all of it ``phonenumbers`` parsing every digit run once per
region. ``scan`` must still return exactly what that call returns, with the decisions above
applied (``scan_whole_text`` is the reference the tests compare against), so text is
skipped only where no match can be:
- Each pattern recognizer runs once, on the pieces of text that can hold its entity joined by
  newlines (calls cost more than short pieces). A piece is a verbatim slice that no match
  crosses, plus the characters its ``\\b`` and lookarounds read (the newline reads as the
  whitespace or text edge it replaces): e-mails and IPs lie in whitespace-delimited tokens
  holding an '@' (for IPs a dotted quad, or a ':' next to a letter or digit: a kept IPv6 has
  three groups); cards and SSNs in runs of >= 13 / >= 9 digits joined by single separators
  (found in Presidio's own ``regex`` engine and flags, so ``\\d`` agrees), a card run only if
  some span of whole digit blocks with 13-19 digits passes the recognizer's own validator
  (Luhn; a match failing it scores nothing), an SSN run only if one of the SSN patterns that
  can score ``min_score`` matches in it (no validator raises their scores: at the default
  bar only ``536-22-1234`` and its ' '/'.' forms count); IBANs within 44 characters of a "two
  letters, two digits" start (found with any-letter classes, a superset of the pattern's
  case-folded ``[A-Z]``).
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
- Results per piece and per phone run are kept in bounded LRU caches keyed by the exact slice
  (neighbour characters included): the stream guard rescans the unsent tail after every
  delta and chat prompts resend earlier turns, so the same slices come back. The caches hold
  those short slices (which may be phone numbers, e-mails) in process memory only.
- Cold cost: a 4,000-character page of distinct prices, dates, card-like numbers, order ids
  and international phones took ~25 ms, now ~1.8 ms, about half of it one matcher call per
  international phone (~60 us each); a 6-digit id costs one only if the filter above lets
  it through (~4% of them for DE).
- Known, accepted divergence from one whole-text call: ``phonenumbers`` stops after 65,535
  rejected candidates per call; per run it never does.
"""

from __future__ import annotations

import os

# Presidio's e-mail recognizer uses tldextract, which would fetch the public suffix list on
# first use; an empty URL list makes it use the snapshot inside the wheel. Must be set
# before the import. An operator can still point it at an internal mirror.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import bisect
import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence

import phonenumbers
import regex
from phonenumbers import Leniency, PhoneMetadata
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import (
    PhoneRecognizer,
    UsSsnRecognizer,
)

from services.guardrails.findings import Finding

# Our category -> Presidio entity.
_ENTITIES: dict[str, str] = {
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
}
_CATEGORIES: dict[str, str] = {v: k for k, v in _ENTITIES.items()}
PII_CATEGORIES: tuple[str, ...] = tuple(_ENTITIES)

DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "CA", "GB", "DE", "FR", "IL", "IN", "BR")
_STRICT_GROUPING = Leniency.STRICT_GROUPING

# Phones score 0.4, dashed SSNs 0.5, IPs 0.6, validated cards/IBANs 1.0; bare 9-digit
# "SSNs" score 0.05 (any order id) and stay out unless the context recognizer claims them.
DEFAULT_MIN_SCORE = 0.4

# An SSN as nine digits (or spaced) right after "SSN" / "social security number".
_SSN_IN_CONTEXT = re.compile(
    r"(?i)\b(?:ssn|social[ -]security(?:[ -](?:number|no\.?|#))?)[\s:#=\-]{0,4}"
    r"(?:is[ \t]{1,3})?(\d{3}([ .-]?)\d{2}\2\d{4})\b"
)
_SSN_IN_CONTEXT_SCORE = 0.85
_SSN_VALIDATOR = UsSsnRecognizer()

# The longest value: RFC 5321 caps an e-mail address at 254 chars; the rest are far shorter.
_MAX_MATCH_CHARS = 256

# --- Pieces of text each Presidio pattern recognizer can match in (see the module doc). ---
# A Window is a [start, end) slice of the text. A Gate finds one entity's windows, given the
# text and its digit runs (found once per scan: two gates need them).
Window = tuple[int, int]
Gate = Callable[[str, list[Window]], list[Window]]

# Token edges in Presidio's engine, whose "\s" its patterns use ((?r) searches backwards).
_SPACE = regex.compile(r"\s")
_SPACE_BEFORE = regex.compile(r"(?r)\s")
# Runs of >= 9 digits joined by single '-', ' ' or '.': every SSN and card lies in one. In
# Presidio's own engine (and flags, set per recognizer below), so "\d" agrees with its patterns.
_DIGIT_RUN = r"(?<!\d)\d(?:[- .]?\d){8,}"
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
    @functools.lru_cache(maxsize=_CACHE_SIZE)
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


def _gate_for(entity: str, recognizer: EntityRecognizer, min_score: float) -> Gate:
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


def _merge(windows: Iterable[Window], length: int) -> list[Window]:
    out: list[Window] = []
    for start, end in sorted(windows):
        end = min(end, length)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


Hit = tuple[int, int, float]  # start, end, score, relative to a window


class _Lru:
    """A small thread-safe LRU map (``functools.lru_cache`` cannot batch the misses)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, tuple[Hit, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Hit, ...] | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: tuple[Hit, ...]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


# Windows are short; 4096 of them cover a long conversation's numbers, e-mails and tokens.
_CACHE_SIZE = 4096


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
_PHONE_RUN = re.compile(
    f"[{_LEAD}\\d](?:(?<=[{_LEAD}])(?:[{_PUNCT}]*[{_LEAD}])*[{_PUNCT}]*\\d+|(?<=\\d)\\d*)"
    f"(?:(?:{_PHONE_GAP})\\d+)*[#\uff03]?",
    re.IGNORECASE,
)
_PLUS = re.compile("[+\uff0b]")
# Letters count too: the parser reads "x" and other letters as keypad digits.
_ALNUM = re.compile(r"[^\W_]")
# The matcher reads one character before a candidate and up to three after (":mm").
_BEFORE, _AFTER = 1, 3
# Decisions (see the module doc): a run written as an ISO date, or grouped as a card number
# is printed (four groups of four digits), is not a phone number and holds none.
_NOT_A_PHONE = re.compile(
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
def _region_rules(region: str) -> _RegionRules:
    return _RegionRules(region)


# Runs of ASCII digits and the matcher's ASCII punctuation other than "x": every string the
# matcher parses in one is a whole number of its digit blocks (the matcher splits only at
# punctuation, and a block of <= 20 digits is never cut: its candidate pattern takes up to 21
# blocks of up to 20 digits), with no '+', letters or extension. Others skip the filter.
_PLAIN_RUN = re.compile(r"[0-9 ()\[\].\-/~]+")
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
    return list(phonenumbers.PhoneNumberMatcher(window, region, leniency=_STRICT_GROUPING))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _phone_spans(window: str, start: int, end: int, regions: tuple[str, ...]) -> tuple[Window, ...]:
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
        rules = [r for r in map(_region_rules, regions) if chars >= r.need]
        if rules and _PLAIN_RUN.fullmatch(run):
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


_PIECES = _Lru(_CACHE_SIZE)


@functools.lru_cache(maxsize=8)
def _analyzer(entities: tuple[str, ...], phone_regions: tuple[str, ...]) -> AnalyzerEngine:
    """One analyzer per configuration, holding only the recognizers for its entities."""
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    registry.recognizers = [
        r
        for r in registry.recognizers
        if set(r.supported_entities) & set(entities) and not isinstance(r, PhoneRecognizer)
    ]
    if "PHONE_NUMBER" in entities:
        registry.add_recognizer(
            PhoneRecognizer(supported_regions=phone_regions, leniency=_STRICT_GROUPING)
        )
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])


_DOTTED_RUN = re.compile(r"\d\.$|^\.\d")


def _not_an_ip(chunk: str, start: int, end: int) -> bool:
    """IPv6 with under three groups (a slice), or a dotted quad inside a longer dotted run
    (the version ``1.2.3.4.5``)."""
    value = chunk[start:end]
    if ":" in value and "." not in value:
        return sum(1 for g in value.split(":") if g) < 3
    return bool(_DOTTED_RUN.search(chunk[max(0, start - 2) : start])) or bool(
        _DOTTED_RUN.search(chunk[end : end + 2])
    )


def merge_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Overlapping findings become one span covering both (so redaction is well-defined),
    labelled with the higher-scoring category (the longer one on a tie)."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1].end:
            prev = merged[-1]
            best = max(prev, f, key=lambda x: (x.score, x.end - x.start))
            merged[-1] = Finding(
                best.check, best.category, prev.start, max(prev.end, f.end), best.score
            )
        else:
            merged.append(f)
    return merged


class PiiCheck:
    """Finds e-mails, phone numbers, cards, IBANs, US SSNs and IP addresses."""

    name = "pii"

    def __init__(
        self,
        categories: Sequence[str] = PII_CATEGORIES,
        min_score: float = DEFAULT_MIN_SCORE,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
    ) -> None:
        unknown = set(categories) - set(_ENTITIES)
        if unknown:
            raise ValueError(f"unknown PII categories {sorted(unknown)}; known: {PII_CATEGORIES}")
        if not categories:
            raise ValueError("PiiCheck needs at least one category")
        self.categories = tuple(dict.fromkeys(categories))
        self.min_score = min_score
        # Only the configured entities: Presidio's catch-all set reads phone numbers as
        # driver licences, bank numbers and the like.
        self._entities = [_ENTITIES[c] for c in self.categories]
        self._engine = _analyzer(tuple(sorted(self._entities)), tuple(phone_regions))
        self._gated: list[tuple[str, EntityRecognizer, Gate]] = [
            (entity, recognizer, _gate_for(entity, recognizer, min_score))
            for recognizer in self._engine.registry.recognizers
            if not isinstance(recognizer, PhoneRecognizer)
            for entity in recognizer.supported_entities
            if entity in self._entities
        ]
        # The card and SSN gates share one pass for digit runs, in their recognizers' flags.
        run_users = [r for e, r, _ in self._gated if e in ("CREDIT_CARD", "US_SSN")]
        self._digit_run = (
            regex.compile(_DIGIT_RUN, getattr(run_users[0], "global_regex_flags", 0) or 0)
            if run_users
            else None
        )
        # Phones all score PhoneRecognizer.SCORE, so a higher bar drops them unseen.
        self._all_regions: tuple[str, ...] = ()
        if "PHONE_NUMBER" in self._entities and min_score <= PhoneRecognizer.SCORE:
            self._all_regions = tuple(dict.fromkeys(phone_regions))
        self._shortest_run = min((_region_rules(r).need for r in self._all_regions), default=0)
        # The first call compiles patterns and loads phone metadata (~0.3 s).
        self.scan("warm up a@b.io +1 415-555-2671 10.0.0.1 4111 1111 1111 1111 DE89 3704")

    @property
    def max_match_chars(self) -> int:
        return _MAX_MATCH_CHARS

    def scan(self, text: str) -> list[Finding]:
        findings = self._scan_phones(text)
        runs = [m.span() for m in self._digit_run.finditer(text)] if self._digit_run else []
        for entity, recognizer, gate in self._gated:
            findings.extend(self._scan_pieces(text, entity, recognizer, gate(text, runs)))
        if "US_SSN" in self.categories:
            findings.extend(self._ssn_in_context(text))
        return merge_overlaps(findings)

    def scan_whole_text(self, text: str) -> list[Finding]:
        """The reference ``scan`` must equal: one Presidio call over the whole text (slow)."""
        results = self._engine.analyze(
            text, language="en", entities=self._entities, score_threshold=self.min_score
        )
        not_phones = [m.span() for m in _PHONE_RUN.finditer(text) if _NOT_A_PHONE.fullmatch(m[0])]
        findings = [
            Finding(self.name, _CATEGORIES[r.entity_type], r.start, r.end, r.score)
            for r in results
            if not (r.entity_type == "IP_ADDRESS" and _not_an_ip(text, r.start, r.end))
            and not (
                r.entity_type == "PHONE_NUMBER"
                and any(s <= r.start and r.end <= e for s, e in not_phones)
            )
        ]
        if "US_SSN" in self.categories:
            findings.extend(self._ssn_in_context(text))
        return merge_overlaps(findings)

    def _scan_pieces(
        self, text: str, entity: str, recognizer: EntityRecognizer, windows: list[Window]
    ) -> list[Finding]:
        if not windows:
            return []
        windows = _merge(windows, len(text))
        pieces = [text[s:e] for s, e in windows]
        hits = [_PIECES.get((recognizer, piece)) for piece in pieces]
        missing = [i for i, h in enumerate(hits) if h is None]
        if missing:
            fresh = self._analyze_pieces(entity, recognizer, pieces, missing)
            for i, found in zip(missing, fresh, strict=True):
                hits[i] = found
                _PIECES.put((recognizer, pieces[i]), found)
        out = []
        for (offset, _), piece_hits in zip(windows, hits, strict=True):
            kept = [h for h in piece_hits or () if h[2] >= self.min_score]
            if len(kept) > 1:  # Presidio drops a match inside another that scores as high
                results = [RecognizerResult(entity, s, e, score) for s, e, score in kept]
                kept = [
                    (r.start, r.end, r.score) for r in EntityRecognizer.remove_duplicates(results)
                ]
            category = _CATEGORIES[entity]
            out.extend(
                Finding(self.name, category, offset + s, offset + e, sc) for s, e, sc in kept
            )
        return out

    @staticmethod
    def _analyze_pieces(
        entity: str, recognizer: EntityRecognizer, pieces: list[str], which: list[int]
    ) -> list[tuple[Hit, ...]]:
        """One recognizer call over the pieces joined by newlines (a call costs more than a
        short piece), its matches split back per piece."""
        joined = "\n".join(pieces[i] for i in which)
        starts: list[int] = []
        at = 0
        for i in which:
            starts.append(at)
            at += len(pieces[i]) + 1
        per_piece: list[list[Hit]] = [[] for _ in which]
        for r in recognizer.analyze(joined, [entity], None):
            if entity == "IP_ADDRESS" and _not_an_ip(joined, r.start, r.end):
                continue
            k = bisect.bisect_right(starts, r.start) - 1
            per_piece[k].append((r.start - starts[k], r.end - starts[k], r.score))
        return [tuple(hits) for hits in per_piece]

    def _scan_phones(self, text: str) -> list[Finding]:
        if not self._all_regions:
            return []
        spans: set[Window] = set()
        for run in _PHONE_RUN.finditer(text):
            start, end = run.span()
            # Most prose numbers (years, prices, versions) are too short for any region.
            if end - start < self._shortest_run or _NOT_A_PHONE.fullmatch(run.group()):
                continue
            lo = max(0, start - _BEFORE)
            spans.update(
                (lo + s, lo + e)
                for s, e in _phone_spans(
                    text[lo : end + _AFTER], start - lo, end - lo, self._all_regions
                )
                if lo + s >= start and lo + e <= end
            )
        score = PhoneRecognizer.SCORE
        return [Finding(self.name, "PHONE", s, e, score) for s, e in sorted(spans)]

    def _ssn_in_context(self, text: str) -> list[Finding]:
        if self.min_score > _SSN_IN_CONTEXT_SCORE:
            return []
        return [
            Finding(self.name, "US_SSN", m.start(1), m.end(1), _SSN_IN_CONTEXT_SCORE)
            for m in _SSN_IN_CONTEXT.finditer(text)
            if not _SSN_VALIDATOR.invalidate_result(m.group(1))
        ]
