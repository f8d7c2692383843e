"""SecretsCheck: exact spans per category, whole private key blocks, no false positives.

Fake credentials are assembled at run time, so this file holds no string that a secret
scanner (or a push protection) would flag.
"""

from __future__ import annotations

import base64
import json
import random

import pytest

from services.guardrails.checks.secrets import MAX_PRIVATE_KEY_CHARS, SecretsCheck

from . import test_pii  # its prose and code samples


@pytest.fixture(scope="module")
def secrets() -> SecretsCheck:
    return SecretsCheck()


def spans(check: SecretsCheck, text: str) -> list[tuple[str, str]]:
    return [(f.category, text[f.start : f.end]) for f in check.scan(text)]


def _b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _pem(kind: str, body_bytes: int, seed: int = 0) -> str:
    rnd = random.Random(seed)
    body = base64.b64encode(bytes(rnd.randrange(256) for _ in range(body_bytes))).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


JWT = _b64url({"alg": "HS256", "typ": "JWT"}) + "." + _b64url({"sub": "42"}) + ".c2lnbmF0dXJl"
TOKENS = [
    ("AWS_ACCESS_KEY", "AKIA" + "IOSFODNN7EXAMPLE"),
    ("GITHUB_TOKEN", "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
    ("SLACK_TOKEN", "xoxb-" + "123456789012-1234567890123-abcdefghijklmnopqrstuvwx"),
    ("JWT", JWT),
    ("STRIPE_KEY", "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    ("GITLAB_TOKEN", "glpat-" + "xXxXxXxXxXxXxXxXxXxX"),
    ("SENDGRID_KEY", "SG." + "a" * 22 + "." + "b" * 43),
]


@pytest.mark.parametrize(("category", "value"), TOKENS)
def test_finds_each_token_with_its_exact_span(
    secrets: SecretsCheck, category: str, value: str
) -> None:
    text = f"Use this one: {value} and tell nobody."
    assert spans(secrets, text) == [(category, value)]


def test_aws_secret_key_reports_the_key_not_its_assignment(secrets: SecretsCheck) -> None:
    key = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
    text = f'aws_secret_access_key = "{key}"'
    assert spans(secrets, text) == [("AWS_SECRET_KEY", key)]


@pytest.mark.parametrize(
    "kind", ["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]
)
def test_private_key_is_the_whole_block(secrets: SecretsCheck, kind: str) -> None:
    pem = _pem(kind, 1190)
    text = f"here is the key:\n{pem}\nthanks"
    assert spans(secrets, text) == [("PRIVATE_KEY", pem)]


def test_a_4096_bit_key_fits_the_bound(secrets: SecretsCheck) -> None:
    pem = _pem("RSA PRIVATE KEY", 2350)  # an RSA-4096 PKCS#1 DER is ~2,350 bytes
    assert len(pem) < MAX_PRIVATE_KEY_CHARS == secrets.max_match_chars
    assert spans(secrets, pem) == [("PRIVATE_KEY", pem)]


def test_cut_blocks_are_still_covered(secrets: SecretsCheck) -> None:
    pem = _pem("EC PRIVATE KEY", 600)
    head = pem[: pem.index("-----END")]  # a stream window without the END line
    assert spans(secrets, head + "more") == [("PRIVATE_KEY", head + "more")]
    tail = pem[pem.index("\n", 100) + 1 :] + "\nbye"  # a window without the BEGIN line
    assert spans(secrets, tail) == [("PRIVATE_KEY", tail[: -len("\nbye")])]


def test_several_findings_in_one_text_are_ordered(secrets: SecretsCheck) -> None:
    text = " ; ".join(v for _, v in TOKENS)
    assert spans(secrets, text) == TOKENS


@pytest.mark.parametrize(
    "text",
    [
        "ghp_tooShort123",  # GitHub tokens are 36 characters after the prefix
        "eyJub3QiOiJqc29u.eyJhIjoxfQ.sig".replace("eyJub3QiOiJqc29u", "eyJub3Qgand6b24"),
        "The header reads BEGIN RSA PRIVATE KEY in the docs.",  # a mention, not a key
        "sk_" + "test_" + "4eC39HqLyjWDarjtT1zdp7dc",  # Stripe test keys are not secrets
        "AKIA-not-a-key and akiaiosfodnn7example",
    ],
)
def test_look_alikes_are_not_reported(secrets: SecretsCheck, text: str) -> None:
    assert secrets.scan(text) == []


def test_ordinary_prose_and_code_do_not_trigger(secrets: SecretsCheck) -> None:
    assert secrets.scan(test_pii.PROSE) == []
    assert secrets.scan(test_pii.CODE) == []
    english = (
        "The quick brown fox jumps over the lazy dog. Authentication tokens should be rotated "
        "every ninety days, and passwords must never be pasted into chat. " * 5
    )
    assert secrets.scan(english) == []


def test_findings_name_the_check(secrets: SecretsCheck) -> None:
    (finding,) = secrets.scan(TOKENS[0][1])
    assert (finding.check, finding.placeholder) == ("secrets", "<AWS_ACCESS_KEY>")
