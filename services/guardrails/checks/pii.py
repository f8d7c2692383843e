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
- Phones: only on the runs and in the regions where ``phonenumbers`` can find one (see
  ``phones``).
- Results per piece and per phone run are kept in bounded LRU caches keyed by the exact slice
  (neighbour characters included): the stream guard rescans the unsent tail after every
  delta and chat prompts resend earlier turns, so the same slices come back. The caches hold
  those short slices (which may be phone numbers, e-mails) in process memory only.
- Cold cost: a 4,000-character page of distinct prices, dates, card-like numbers, order ids
  and international phones took ~25 ms, now ~1.8 ms, about half of it one matcher call per
  international phone (~60 us each); a 6-digit id costs one only if the filter above lets
  it through (~4% of them for DE).
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
from collections.abc import Hashable, Iterable, Sequence

import regex
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import (
    PhoneRecognizer,
    UsSsnRecognizer,
)

from services.guardrails.checks.open_tail import OpenTail, last_token_start
from services.guardrails.checks.phones import (
    CACHE_SIZE,
    STRICT_GROUPING,
    Window,
    not_a_phone_runs,
    open_run_start,
    phone_spans,
    shortest_run,
)
from services.guardrails.checks.pii_pieces import DIGIT_RUN, Gate, gate_for, merge_windows
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
# The longest card, SSN or IBAN, with an SSN's context words: an IBAN is 43 characters at
# most, "social security number is 123-45-6789" 42.
_LONGEST_PATTERNED = 48

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


_PIECES = _Lru(CACHE_SIZE)


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
            PhoneRecognizer(supported_regions=phone_regions, leniency=STRICT_GROUPING)
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
            (entity, recognizer, gate_for(entity, recognizer, min_score))
            for recognizer in self._engine.registry.recognizers
            if not isinstance(recognizer, PhoneRecognizer)
            for entity in recognizer.supported_entities
            if entity in self._entities
        ]
        # The card and SSN gates share one pass for digit runs, in their recognizers' flags.
        run_users = [r for e, r, _ in self._gated if e in ("CREDIT_CARD", "US_SSN")]
        self._digit_run = (
            regex.compile(DIGIT_RUN, getattr(run_users[0], "global_regex_flags", 0) or 0)
            if run_users
            else None
        )
        # Phones all score PhoneRecognizer.SCORE, so a higher bar drops them unseen.
        self._all_regions: tuple[str, ...] = ()
        if "PHONE_NUMBER" in self._entities and min_score <= PhoneRecognizer.SCORE:
            self._all_regions = tuple(dict.fromkeys(phone_regions))
        self._shortest_run = shortest_run(self._all_regions)
        # Where a finding could still be growing at the end of a stream (``open_from``):
        # e-mails and IPs hold no whitespace; cards, SSNs and IBANs lie in matches of their
        # recognizers' own (short) patterns; phones in phone runs.
        self._tokens_grow = bool({"EMAIL", "IP_ADDRESS"} & set(self.categories))
        self._open_tail = OpenTail(
            [
                (pattern.regex, getattr(recognizer, "global_regex_flags", 0) or 0)
                for entity, recognizer, _ in self._gated
                if entity not in ("EMAIL_ADDRESS", "IP_ADDRESS")
                for pattern in getattr(recognizer, "patterns", ())
            ]
            + ([_SSN_IN_CONTEXT] if "US_SSN" in self.categories else [])
        )
        # The first call compiles patterns and loads phone metadata (~0.3 s).
        self.scan("warm up a@b.io +1 415-555-2671 10.0.0.1 4111 1111 1111 1111 DE89 3704")

    @property
    def max_match_chars(self) -> int:
        return _MAX_MATCH_CHARS

    def open_from(self, text: str) -> int:
        since = max(0, len(text) - _MAX_MATCH_CHARS)
        starts = [self._open_tail.start(text, max(since, len(text) - _LONGEST_PATTERNED))]
        if self._tokens_grow:
            starts.append(last_token_start(text, since))
        if self._all_regions:
            starts.append(open_run_start(text, since))
        return min(starts)

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
        not_phones = not_a_phone_runs(text)
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
        windows = merge_windows(windows, len(text))
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
        spans = phone_spans(text, self._all_regions, self._shortest_run)
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
