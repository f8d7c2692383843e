"""SecretsCheck: exact spans per category, whole private key blocks, no false positives, and
a small streaming window that still never lets a key block or a long JWT out unredacted.

Fake credentials are assembled at run time, so this file holds no string that a secret
scanner (or a push protection) would flag.
"""

from __future__ import annotations

import base64
import json
import random

import pytest

from services.guardrails.checks.secrets import STREAM_WINDOW_CHARS, SecretsCheck
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from services.guardrails.stream import StreamGuard

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
# Longer than the window: an access token with a few claims. detect-secrets' character class
# has no "-" in header or payload, so the claims are chosen to encode without one.
LONG_JWT = (
    _b64url({"alg": "RS256", "typ": "JWT", "kid": "k" * 20})
    + "."
    + _b64url({"sub": "42", "scope": "read write admin " * 12, "name": "A" * 40})
    + "."
    + "c2lnbmF0dXJl" * 12
)
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


def test_a_key_block_has_no_length_bound(secrets: SecretsCheck) -> None:
    pem = _pem("RSA PRIVATE KEY", 4700)  # RSA-8192: ~6.4k characters
    assert len(pem) > 6000 and secrets.max_match_chars == STREAM_WINDOW_CHARS <= 256
    assert spans(secrets, f"key:\n{pem}\nok") == [("PRIVATE_KEY", pem)]


def test_a_block_without_end_runs_to_the_end_of_the_text(secrets: SecretsCheck) -> None:
    pem = _pem("EC PRIVATE KEY", 600)
    head = pem[: pem.index("-----END")]  # truncated: everything after BEGIN may be key
    assert spans(secrets, head + "more prose") == [("PRIVATE_KEY", head + "more prose")]
    partial_end = pem[: pem.index("-----END") + 12]  # a stream sees the END line half-written
    assert spans(secrets, partial_end) == [("PRIVATE_KEY", partial_end)]


def test_a_lone_end_line_is_not_a_block(secrets: SecretsCheck) -> None:
    pem = _pem("EC PRIVATE KEY", 600)
    assert secrets.scan(pem[pem.index("\n") + 1 :]) == []


def test_putty_key_runs_to_its_mac(secrets: SecretsCheck) -> None:
    block = "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nPrivate-MAC: " + "ab" * 20
    assert spans(secrets, f"{block}\nthanks") == [("PRIVATE_KEY", block)]
    assert spans(secrets, block[:-7]) == [("PRIVATE_KEY", block[:-7])]


def test_an_unfinished_jwt_at_the_end_runs_to_the_end(secrets: SecretsCheck) -> None:
    cut = LONG_JWT[: LONG_JWT.index(".") + 100]  # mid-payload: not decodable yet
    assert spans(secrets, f"token: {cut}") == [("JWT", cut)]
    assert spans(secrets, f"token: {LONG_JWT[:150]}") == [("JWT", LONG_JWT[:150])]
    assert secrets.scan("ends with eyJhbG") == []  # too short to matter
    not_json = base64.urlsafe_b64encode(b'{"alg": nope').decode().rstrip("=")
    assert secrets.scan(f"x {not_json}.eyJzdWIiOiI0MiJ9") == []  # its header can never pass


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


# Streaming: the check's window is small, yet a key block or a JWT longer than the window is
# held back whole (its finding runs to the end of the unsent text until it is complete).

KEY = _pem("RSA PRIVATE KEY", 2300, seed=7)  # ~3.1k characters
KEY_TEXT = f"Here is the key you asked for:\n\n{KEY}\n\nKeep it safe, and rotate it soon. " * 2


def _chunks(text: str, seed: int, longest: int) -> list[str]:
    rnd = random.Random(seed)
    out: list[str] = []
    at = 0
    while at < len(text):
        step = rnd.randint(1, longest)
        out.append(text[at : at + step])
        at += step
    return out


def _guard(action: str = "redact") -> StreamGuard:
    return StreamGuard(GuardPipeline([GuardedCheck(SecretsCheck(), action)], "output"))


async def _stream(guard: StreamGuard, chunks: list[str]) -> list[str]:
    out = [(await guard.feed(chunk)).emit for chunk in chunks]
    out.append((await guard.finish()).emit)
    return out


def _body_lines(pem: str) -> list[str]:
    return pem.splitlines()[1:-1]


def _whole(text: str) -> str:
    return GuardPipeline([GuardedCheck(SecretsCheck(), "redact")], "output").scan(text).text


@pytest.mark.parametrize(
    ("seed", "longest"), [(0, 1), (1, 5), (2, 20), (3, 64), (4, 300), (5, 2000)]
)
async def test_a_streamed_key_block_is_held_then_redacted_whole(seed: int, longest: int) -> None:
    guard = _guard()
    assert guard.window <= 256
    out = await _stream(guard, _chunks(KEY_TEXT, seed, longest))
    assert "".join(out) == _whole(KEY_TEXT) == KEY_TEXT.replace(KEY, "<PRIVATE_KEY>")
    for piece in out:
        assert "BEGIN" not in piece and "END" not in piece
        assert not any(line in piece for line in _body_lines(KEY))


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_a_streamed_truncated_key_is_redacted_to_the_end(seed: int) -> None:
    text = "Partial key:\n" + KEY[: KEY.index("-----END")] + "\n(the rest was cut off)"
    out = await _stream(_guard(), _chunks(text, seed, 30))
    assert "".join(out) == _whole(text) == "Partial key:\n<PRIVATE_KEY>"
    assert not any(line in piece for piece in out for line in _body_lines(KEY))


@pytest.mark.parametrize(("seed", "longest"), [(0, 1), (1, 7), (2, 40)])
async def test_a_streamed_key_block_blocks_before_any_of_it_is_sent(
    seed: int, longest: int
) -> None:
    guard = _guard("block")
    sent = ""
    for chunk in _chunks(KEY_TEXT, seed, longest):
        step = await guard.feed(chunk)
        sent += step.emit
        if step.blocked:
            break
    assert step.blocked and step.blocked_by.category == "PRIVATE_KEY"
    assert KEY_TEXT.startswith(sent) and len(sent) <= KEY_TEXT.index("-----BEGIN")


@pytest.mark.parametrize(("seed", "longest"), [(0, 1), (1, 3), (2, 25), (3, 90)])
async def test_a_streamed_jwt_longer_than_the_window_never_leaks(seed: int, longest: int) -> None:
    assert len(LONG_JWT) > 2 * STREAM_WINDOW_CHARS
    text = f"Call the API with Authorization: Bearer {LONG_JWT}\nThen read the reply. " * 2
    out = await _stream(_guard(), _chunks(text, seed, longest))
    assert "".join(out) == _whole(text) == text.replace(LONG_JWT, "<JWT>")
    header, payload, _ = LONG_JWT.split(".")
    for piece in out:
        assert header[3:20] not in piece and payload[3:20] not in piece


async def test_ordinary_text_is_not_held_back_by_the_secrets_window() -> None:
    guard = _guard()
    text = test_pii.PROSE
    emitted = [(await guard.feed(chunk)).emit for chunk in _chunks(text, 0, 20)]
    # Everything but the last window's worth has gone out before the stream ends.
    assert len("".join(emitted)) >= len(text) - 2 * guard.window
