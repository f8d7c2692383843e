"""Where a finding could still be growing at the end of a text: what the stream guard must
hold back, and nothing more."""

from __future__ import annotations

import re

import pytest

from services.guardrails.checks.open_tail import OpenTail, last_token_start
from services.guardrails.checks.phones import open_run_start
from services.guardrails.checks.pii import PiiCheck
from services.guardrails.checks.secrets import SecretsCheck


@pytest.fixture(scope="module")
def pii() -> PiiCheck:
    return PiiCheck()


@pytest.fixture(scope="module")
def secrets() -> SecretsCheck:
    return SecretsCheck()


def test_a_partial_or_final_match_reaching_the_end_is_open() -> None:
    tail = OpenTail([re.compile(r"\d{3}(?:-\d{4})?")])
    # A shorter match ended before the end, yet "-12" may still make it "555-1234".
    assert tail.start("call 555-12") == 5
    assert tail.start("call 555") == 5
    assert tail.start("call 555-1234 now") == len("call 555-1234 now")


def test_leading_inline_flags_stay_in_force() -> None:
    assert OpenTail([re.compile(r"(?i)ab")]).start("xx A") == 3


def test_the_last_token() -> None:
    assert last_token_start("mail me at jane@exa") == len("mail me at ")
    assert last_token_start("done. ") == len("done. ")
    assert last_token_start("x" * 10, since=4) == 4


@pytest.mark.parametrize(
    ("text", "open_part"),
    [
        ("call me at +1 415 555", "+1 415 555"),
        ("call me at +1 415 555 ", "+1 415 555 "),  # a gap the next block may follow
        ("call (", "("),
        ("at 10:30 we met", ""),
        ("version 3 of the plan", ""),
    ],
)
def test_an_open_phone_run(text: str, open_part: str) -> None:
    assert text[open_run_start(text) :] == open_part


@pytest.mark.parametrize(
    ("text", "open_part"),
    [
        ("The answer is simple and clear. ", ""),
        ("The answer is simple", "simple"),
        ("mail jane@exa", "jane@exa"),
        ("card 4111 1111 1111", "4111 1111 1111"),
        ("iban DE89 3704 0044 05", "DE89 3704 0044 05"),
        ("my ssn is 536", "ssn is 536"),
    ],
)
def test_pii_holds_only_what_may_still_become_a_finding(
    pii: PiiCheck, text: str, open_part: str
) -> None:
    assert text[pii.open_from(text) :] == open_part


@pytest.mark.parametrize(
    ("text", "open_part"),
    [
        ("The answer is simple and clear. ", ""),
        ("my key is sk-abc", "sk-abc"),
        ("here: -----BEGIN RS", "-----BEGIN RS"),
        ('aws_secret_access_key = "wJal', 'aws_secret_access_key = "wJal'),
    ],
)
def test_secrets_hold_only_what_may_still_become_a_finding(
    secrets: SecretsCheck, text: str, open_part: str
) -> None:
    assert text[secrets.open_from(text) :] == open_part


def test_never_more_than_the_longest_finding(pii: PiiCheck, secrets: SecretsCheck) -> None:
    digits = "1" * 2000
    assert pii.open_from(digits) >= len(digits) - pii.max_match_chars
    assert secrets.open_from(digits) >= len(digits) - secrets.max_match_chars
