"""Per region, whether a run of ASCII digit blocks could hold a number that phonenumbers'
matcher finds there, from its public metadata alone (the filter the second point of
``phones``' module doc describes), and how short a run each region can find a number in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

import phonenumbers
from phonenumbers import PhoneMetadata


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

    def may_find(self, digits: str, blocks: Sequence[tuple[int, int]]) -> bool:
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
