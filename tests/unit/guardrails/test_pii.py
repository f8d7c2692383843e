"""PiiCheck: exact spans per category, validators, and ordinary text that must not trigger."""

from __future__ import annotations

import functools
import random
import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from services.guardrails.checks.phones import (
    PHONE_RUN,
    PLAIN_RUN,
    region_rules,
    run_phone_spans,
)
from services.guardrails.checks.pii import (
    DEFAULT_MIN_SCORE,
    DEFAULT_PHONE_REGIONS,
    PII_CATEGORIES,
    PiiCheck,
    merge_overlaps,
)
from services.guardrails.findings import Finding


@pytest.fixture(scope="module")
def pii() -> PiiCheck:
    return PiiCheck()


def spans(check: PiiCheck, text: str) -> list[tuple[str, str]]:
    return [(f.category, text[f.start : f.end]) for f in check.scan(text)]


@pytest.mark.parametrize(
    ("category", "value"),
    [
        ("EMAIL", "jane.roe+billing@example.co.uk"),
        ("PHONE", "+1 (415) 555-2671"),
        ("PHONE", "415-555-2671"),
        ("PHONE", "+44 20 7946 0958"),
        ("PHONE", "+49 30 901820"),
        ("PHONE", "+33 6 12 34 56 78"),
        ("PHONE", "020 7946 0958"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("CREDIT_CARD", "5555-5555-5555-4444"),
        ("CREDIT_CARD", "378282246310005"),
        ("IBAN", "DE89 3704 0044 0532 0130 00"),
        ("IBAN", "GB82WEST12345698765432"),
        ("US_SSN", "536-22-1234"),
        ("IP_ADDRESS", "192.168.10.42"),
        ("IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
    ],
)
def test_finds_each_category_with_its_exact_span(pii: PiiCheck, category: str, value: str) -> None:
    text = f"Please update the record, the value is {value} as of today."
    assert spans(pii, text) == [(category, value)]


@pytest.mark.parametrize(
    "text",
    ["my SSN is 536221234.", "Social Security Number: 536 22 1234", "ssn=536-22-1234"],
)
def test_ssn_with_context_is_found_in_any_layout(pii: PiiCheck, text: str) -> None:
    assert [c for c, _ in spans(pii, text)] == ["US_SSN"]
    assert spans(pii, text)[0][1].replace(" ", "").replace("-", "") == "536221234"


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn-invalid
        "IBAN DE89 3704 0044 0532 0130 01",  # wrong checksum
        "ssn 000-12-3456 or 666-12-3456 or 123-45-0000",  # never-issued SSN ranges
        "order 536221234 shipped",  # nine bare digits without SSN context
        "call 123-456-7890",  # area code 123 does not exist
        "ORD-2026-004512 and ref 2026 004512",  # the digits of a DC number, grouped as an id
        "versions 1.2.3, 1.2.3.4.5 and v1.2.3.4; 999.1.1.1 is no IP",
        "slices x[::1], y[1::2] and z[::-1]",
        "write to someone at example dot com",
    ],
)
def test_invalid_values_and_look_alikes_are_not_reported(pii: PiiCheck, text: str) -> None:
    assert pii.scan(text) == []


PROSE = """\
Thanks for the update. The laptop costs $1,299.00 (was $1,499.99), a 13% discount, and
the order ORD-2026-004512 ships on 2026-11-27 or 11/27/2026 between 09:30 and 17:45 CET.
Invoice INV 20261127-0042 covers 3 units; order #884213 and order 100234567 are still open.
We upgraded from version 3.11.2 to 4.0.1 and the p99 latency fell by 42.5% to 180 ms in Q3
2026. Product codes 400-123-4567 and 1000-2000-3000 are listed in section 4.2.1 of the
catalogue (pages 12-19). The match ended 3:2 after 90+4 minutes; 1 in 20 people agreed.
Build 2026.11.27.1 of the app is ~250 MB; sha 9f86d081 was tagged release-12.
"""

CODE = """\
MAGIC = 0xDEADBEEF
MASK = 0x7FFFFFFFFFFFFFFF
REQUEST_ID = "123e4567-e89b-12d3-a456-426614174000"
def pick(items: list[int]) -> list[int]:
    return items[::2] + items[1::3][:10]
timeout_s = 30.5  # seconds, see RFC 7231 section 6.6.1
"""


def test_ordinary_prose_with_numbers_does_not_trigger(pii: PiiCheck) -> None:
    assert spans(pii, PROSE) == []


def test_code_with_hex_constants_and_a_uuid_does_not_trigger(pii: PiiCheck) -> None:
    assert spans(pii, CODE) == []


def test_windowed_scan_equals_a_whole_text_scan(pii: PiiCheck) -> None:
    pii_line = "Mail a.b@example.org, call +44 20 7946 0958, card 4111-1111-1111-1111. "
    text = (PROSE + pii_line) * 3 + CODE
    windowed = pii.scan(text)
    assert windowed == pii.scan_whole_text(text)
    assert len(windowed) == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("415-555-2671 is mine", [("PHONE", "415-555-2671")]),  # at the very start
        ("mine is +44 20 7946 0958", [("PHONE", "+44 20 7946 0958")]),  # at the very end
        ("415-555-2671/415-555-2672", [("PHONE", "415-555-2671"), ("PHONE", "415-555-2672")]),
        (
            "call 415-555-2671, 020 7946 0958.",
            [("PHONE", "415-555-2671"), ("PHONE", "020 7946 0958")],
        ),
        ("415-555-2671 ext. 123 today", [("PHONE", "415-555-2671 ext. 123")]),  # one run
        (
            "+\uff11 \uff14\uff11\uff15 \uff15\uff15\uff15 \uff12\uff16\uff17\uff11",
            [("PHONE", "+\uff11 \uff14\uff11\uff15 \uff15\uff15\uff15 \uff12\uff16\uff17\uff11")],
        ),
        ("+44 20\n7946 0958", []),  # phonenumbers never joins digits across a line break
        ("at 2012-01-02 08:00 it began", []),  # a time stamp: the matcher reads the ":00" after
        ("$4155552671 and 4155552671%", []),  # a currency sign before, a percent sign after
        ("tel$415-555-2671", []),
        ("a4111 1111 1111 1111", []),  # a card glued to a word has no \\b
        ("4111 1111 1111 1111", [("CREDIT_CARD", "4111 1111 1111 1111")]),  # the whole text
        ("GB82WEST12345698765432", [("IBAN", "GB82WEST12345698765432")]),
        ("a.b@example.org", [("EMAIL", "a.b@example.org")]),
        ("1.2.3.4.5 and 10.0.0.1", [("IP_ADDRESS", "10.0.0.1")]),
    ],
)
def test_pieces_at_text_edges_and_neighbours_match_a_whole_text_scan(
    pii: PiiCheck, text: str, expected: list[tuple[str, str]]
) -> None:
    assert spans(pii, text) == expected
    assert pii.scan(text) == pii.scan_whole_text(text)


def test_a_cached_run_is_read_again_with_new_neighbours(pii: PiiCheck) -> None:
    assert spans(pii, "tel 415-555-2671") == [("PHONE", "415-555-2671")]
    assert spans(pii, "tel$415-555-2671") == []
    assert spans(pii, "tel 415-555-2671") == [("PHONE", "415-555-2671")]


FRAGMENTS = [
    "+1 (415) 555-2671",
    "020 7946 0958",
    "+49 30 901820",
    "4155552671",
    "a.b@example.org",
    "4111-1111-1111-1111",
    "DE89 3704 0044 0532 0130 00",
    "536-22-1234",
    "192.168.10.42",
    "2001:db8::8a2e:370:7334",
    "$1,299.00",
    "2026-11-27",
    "09:30",
    "ORD-2026-004512",
    "ext. 12",
    "1.2.3.4.5",
    "x[1::2]",
    "12 34 56",
    "(2026)",
    "#884213",
    "RFC 7231",
    "sha256",
]
SEPARATORS = [" ", ", ", "\n", "-", "", "/", ":", " (", ") ", "\t", ". "]


def test_mixed_texts_match_a_whole_text_scan(pii: PiiCheck) -> None:
    rng = random.Random(20261127)
    for _ in range(30):
        text = "".join(
            rng.choice(FRAGMENTS) + rng.choice(SEPARATORS) for _ in range(rng.randint(1, 12))
        )
        assert pii.scan(text) == pii.scan_whole_text(text), text


def test_phones_in_a_region_with_short_numbers_match_a_whole_text_scan() -> None:
    check = PiiCheck(categories=["PHONE"], phone_regions=["DE"])
    text = "Ruf 030 901820 an, oder 0711 1234, Zimmer 2026, Tel. 089 1234567."
    assert check.scan(text) == check.scan_whole_text(text)
    assert [v for _, v in spans(check, text)] == ["030 901820", "0711 1234", "089 1234567"]


def test_only_configured_categories_are_reported() -> None:
    check = PiiCheck(categories=["EMAIL"])
    text = "a.b@example.org and 4111 1111 1111 1111"
    assert spans(check, text) == [("EMAIL", "a.b@example.org")]


def test_min_score_drops_weak_findings() -> None:
    check = PiiCheck(categories=["PHONE", "EMAIL"], min_score=0.5)
    text = "a.b@example.org or +1 415-555-2671"
    assert [c for c, _ in spans(check, text)] == ["EMAIL"]


def test_unknown_category_is_rejected() -> None:
    with pytest.raises(ValueError, match="PASSPORT"):
        PiiCheck(categories=["PASSPORT"])


def test_overlapping_findings_merge_into_one_span() -> None:
    merged = merge_overlaps(
        [Finding("pii", "PHONE", 10, 22, 0.4), Finding("pii", "US_SSN", 12, 25, 0.85)]
    )
    assert merged == [Finding("pii", "US_SSN", 10, 25, 0.85)]


def test_findings_carry_the_check_name_and_categories_are_known(pii: PiiCheck) -> None:
    (finding,) = pii.scan("write to a.b@example.org")
    assert finding.check == "pii"
    assert finding.placeholder == "<EMAIL>"
    assert set(PII_CATEGORIES) == {"EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"}
    assert pii.max_match_chars >= 254


@pytest.mark.parametrize(
    "text",
    [
        "card 4924 8984 2266 5327 on file",  # DE read it as +49 24 8984 22665327
        "card 4111-1111-1111-1684 on file",  # DE read "1684" as a local number
        "shipped on 2024-05-12, paid",
    ],
)
def test_dates_and_card_layouts_hold_no_phone(pii: PiiCheck, text: str) -> None:
    assert [c for c, _ in spans(pii, text)] == []
    assert pii.scan(text) == pii.scan_whole_text(text)


def test_iso_dates_are_no_phones_for_phonenumbers_either() -> None:
    # The date decision changes nothing today (all 595,200 date/region pairs were checked).
    rng = random.Random(5)
    for _ in range(40):
        date = f"{rng.randint(1900, 2099)}-{rng.randint(1, 12):02d}-{rng.randint(1, 31):02d}"
        for region in DEFAULT_PHONE_REGIONS:
            assert not list(phonenumbers.PhoneNumberMatcher(f" {date} ", region, leniency=2))


def _plain_runs(rng: random.Random) -> list[str]:
    """Digit groupings and national numbers of many regions, as the metadata filter sees."""
    runs = []
    for region in ("US", "GB", "DE", "FR", "IL", "IN", "BR", "AR", "JP", "GD", "NF", "SM"):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                runs.append(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    for _ in range(60):
        blocks = [str(rng.randint(0, 10 ** rng.randint(1, 8))) for _ in range(rng.randint(1, 4))]
        runs.append("".join(b + rng.choice([" ", "-", ".", "/", ""]) for b in blocks).strip("-./ "))
    return runs


@pytest.mark.parametrize("region", [*DEFAULT_PHONE_REGIONS, "AR", "JP", "GD", "NF", "SM"])
def test_the_metadata_filter_never_skips_a_run_the_matcher_reads(region: str) -> None:
    rules = region_rules(region)
    for value in _plain_runs(random.Random(region)):
        for run in PHONE_RUN.finditer(value):
            if not PLAIN_RUN.fullmatch(run[0]):
                continue
            blocks, digits = [], ""
            for block in re.finditer("[0-9]+", run[0]):
                blocks.append((len(digits), len(digits) + len(block[0])))
                digits += block[0]
            if rules.may_find(digits, blocks):
                continue
            found = phonenumbers.PhoneNumberMatcher(f" {run[0]} ", region, leniency=2)
            assert not list(found), (region, run[0])


def test_an_international_number_read_by_one_region_is_what_all_read() -> None:
    regions = DEFAULT_PHONE_REGIONS
    for value in ["+44 20 7946 0958", "+1 415-555-2671", "+49 30 901820 x 12", "+0 20 7946 0958"]:
        window = f" {value} "
        expected = {
            (m.start, m.end)
            for region in regions
            for m in phonenumbers.PhoneNumberMatcher(window, region, leniency=2)
        }
        assert set(run_phone_spans(window, 1, len(value) + 1, regions)) == expected, value


def test_a_local_number_needing_its_national_prefix_is_skipped_only_without_it() -> None:
    # Ids like "TCK-338473": DE reads some six-digit blocks as local numbers (no format asks
    # for the '0' there) and drops the rest; the filter must pass every one it reads.
    rules = region_rules("DE")
    rng = random.Random(338473)
    blocks = [f"{rng.randint(0, 999_999):06d}" for _ in range(400)] + ["338473", "901820"]
    for digits in blocks:
        found = list(phonenumbers.PhoneNumberMatcher(f"-{digits} t", "DE", leniency=2))
        if found:
            assert rules.may_find(digits, [(0, 6)]), digits
    assert not rules.may_find("901820", [(0, 6)])  # Berlin's 901820 needs its "030"
    assert rules.may_find("030901820", [(0, 3), (3, 9)])


@pytest.mark.parametrize(
    "text",
    [
        "ids TCK-338473, TCK-901820 and TCK-123456 for 030 901820",
        "cards 4111 1111 1111 1111, 4111 1111 1111 1112, 4111-1111 1111-1111, 4111111111111111",
        "cards 4111 1111 1111 1111 4111 1111 1111 1111 and 1111-2222-3333-4444",
        "ssn 536-22-1234, 536 22 1234, 536.22.1234, 123456789, 12345-6789, 123-456789",
        "ip range(12): x[1::2] a:b fe80::1:2:3 ::ffff:1.2.3.4 10.0.0.1:8080",
    ],
)
@pytest.mark.parametrize("min_score", [0.0, 0.05, DEFAULT_MIN_SCORE, 0.9])
def test_narrowed_gates_match_a_whole_text_scan(text: str, min_score: float) -> None:
    check = _check_with_min_score(min_score)
    assert check.scan(text) == check.scan_whole_text(text)


@functools.cache
def _check_with_min_score(min_score: float) -> PiiCheck:
    return PiiCheck(min_score=min_score)
