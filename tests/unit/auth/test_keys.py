"""API keys: format, randomness, and the constant-time check."""

import pytest

from services.auth.keys import (
    KEY_PREFIX,
    MalformedKeyError,
    issue_key,
    parse_key,
    secret_digest,
    secret_matches,
)


def test_a_key_round_trips_through_its_token() -> None:
    issued = issue_key()

    assert issued.token.startswith(f"{KEY_PREFIX}_{issued.key_id}_")
    assert parse_key(issued.token) == issued
    assert parse_key(f"  {issued.token}\n") == issued  # pasted with whitespace


def test_keys_are_random_and_long() -> None:
    keys = [issue_key() for _ in range(200)]

    assert len({k.key_id for k in keys}) == 200
    assert len({k.secret for k in keys}) == 200
    assert all(len(k.secret) == 43 for k in keys)  # 256 bits, URL-safe base64


def test_the_secret_never_shows_in_repr() -> None:
    issued = issue_key()

    assert issued.secret not in repr(issued)
    assert issued.key_id in repr(issued)


@pytest.mark.parametrize(
    "text",
    ["", "Bearer x", "flk_", "sk-abc", "flk_zzzzzzzzzzzz_" + "a" * 43, "flk_0123456789ab_short"],
)
def test_malformed_keys_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(MalformedKeyError) as caught:
        parse_key(text)

    # The same words whatever was presented: a pasted secret never reaches a log this way.
    with pytest.raises(MalformedKeyError) as reference:
        parse_key("something else")
    assert str(caught.value) == str(reference.value)


def test_only_the_right_secret_matches_its_digest() -> None:
    issued = issue_key()
    digest = secret_digest(issued.secret)

    assert secret_matches(issued.secret, digest)
    assert not secret_matches(issue_key().secret, digest)
    assert issued.secret not in digest
