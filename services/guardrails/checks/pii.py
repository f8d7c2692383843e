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
"""

from __future__ import annotations

import os

# Presidio's e-mail recognizer uses tldextract, which would fetch the public suffix list on
# first use; an empty URL list makes it use the snapshot inside the wheel. Must be set
# before the import. An operator can still point it at an internal mirror.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import functools
import re
from collections.abc import Iterable, Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
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
_STRICT_GROUPING = 2

# Phones score 0.4, dashed SSNs 0.5, IPs 0.6, validated cards/IBANs 1.0; bare 9-digit
# "SSNs" score 0.05 (any order id) and stay out unless the context recognizer claims them.
DEFAULT_MIN_SCORE = 0.4

# Presidio is ~5-10 ms on 4,000 chars of prose (phonenumbers walks the text once per region).
# Every entity we detect holds a digit, an '@' or a ':' (IPv6), so only windows around tokens
# with one of those are analysed. Windows reach _MARGIN chars past such a token (wider than any
# digit-free run inside an entity, e.g. IBAN's "WEST" or a phone's "ext.") and end on whitespace,
# so a window boundary never cuts a token and matches equal those on the whole text.
_TRIGGER_TOKEN = re.compile(r"\S*[\d@:]\S*")
_MARGIN = 32
# Above this share of the text in windows, one whole-text call is cheaper than many.
_WHOLE_TEXT_SHARE = 0.6

# An SSN as nine digits (or spaced) right after "SSN" / "social security number".
_SSN_IN_CONTEXT = re.compile(
    r"(?i)\b(?:ssn|social[ -]security(?:[ -](?:number|no\.?|#))?)[\s:#=\-]{0,4}"
    r"(?:is[ \t]{1,3})?(\d{3}([ .-]?)\d{2}\2\d{4})\b"
)
_SSN_IN_CONTEXT_SCORE = 0.85
_SSN_VALIDATOR = UsSsnRecognizer()

# The longest value: RFC 5321 caps an e-mail address at 254 chars; the rest are far shorter.
_MAX_MATCH_CHARS = 256


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


def _windows(text: str) -> list[tuple[int, int]]:
    """Merged [start, end) ranges around trigger tokens, snapped to whitespace."""
    out: list[tuple[int, int]] = []
    n = len(text)
    for m in _TRIGGER_TOKEN.finditer(text):
        start, end = max(0, m.start() - _MARGIN), min(n, m.end() + _MARGIN)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < n and not text[end].isspace():
            end += 1
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


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
        # The first analyze call compiles patterns and loads phone metadata (~0.3 s).
        self._engine.analyze("warm up a@b.io +1 415-555-2671 10.0.0.1", language="en")

    @property
    def max_match_chars(self) -> int:
        return _MAX_MATCH_CHARS

    def scan(self, text: str) -> list[Finding]:
        windows = _windows(text)
        if sum(e - s for s, e in windows) > _WHOLE_TEXT_SHARE * len(text):
            windows = [(0, len(text))]
        findings = [f for s, e in windows for f in self._analyze(text[s:e], s)]
        if "US_SSN" in self.categories:
            findings.extend(self._ssn_in_context(text))
        return merge_overlaps(findings)

    def _analyze(self, chunk: str, offset: int) -> list[Finding]:
        results = self._engine.analyze(
            chunk, language="en", entities=self._entities, score_threshold=self.min_score
        )
        return [
            Finding(
                self.name, _CATEGORIES[r.entity_type], offset + r.start, offset + r.end, r.score
            )
            for r in results
            if not (r.entity_type == "IP_ADDRESS" and _not_an_ip(chunk, r.start, r.end))
        ]

    def _ssn_in_context(self, text: str) -> list[Finding]:
        if self.min_score > _SSN_IN_CONTEXT_SCORE:
            return []
        return [
            Finding(self.name, "US_SSN", m.start(1), m.end(1), _SSN_IN_CONTEXT_SCORE)
            for m in _SSN_IN_CONTEXT.finditer(text)
            if not _SSN_VALIDATOR.invalidate_result(m.group(1))
        ]
