"""API keys: their format, how they are made, and how a presented key is checked.

A key reads ``flk_<key id>_<secret>``. The key id (48 random bits, hex) is public: it names the
key in listings, logs and revocations. The secret (256 random bits) is shown once, when the
key is created, and only its SHA-256 is stored. A slow password hash buys nothing for a
256-bit random secret (no dictionary to try) and would cost every request; comparing digests
in constant time keeps the check from leaking how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "flk"
KEY_ID_BYTES = 6
SECRET_BYTES = 32  # token_urlsafe(32): 43 characters of the URL-safe base64 alphabet
_TOKEN = re.compile(
    rf"^{KEY_PREFIX}_(?P<key_id>[0-9a-f]{{{KEY_ID_BYTES * 2}}})_(?P<secret>[A-Za-z0-9_-]{{43}})$"
)


class MalformedKeyError(ValueError):
    """The presented text is not an llm-fleet API key. Never says what the text was."""


@dataclass(frozen=True, repr=False)
class ApiKey:
    """A key's id and secret: just made (the only time we hold the secret), or presented."""

    key_id: str
    secret: str

    @property
    def token(self) -> str:
        """What the caller presents: ``Authorization: Bearer <token>``."""
        return f"{KEY_PREFIX}_{self.key_id}_{self.secret}"

    def __repr__(self) -> str:
        # Keeps the secret out of tracebacks, debug logs and test reports.
        return f"ApiKey(key_id={self.key_id!r}, secret=<hidden>)"


def issue_key() -> ApiKey:
    """A new random key."""
    return ApiKey(secrets.token_hex(KEY_ID_BYTES), secrets.token_urlsafe(SECRET_BYTES))


def parse_key(token: str) -> ApiKey:
    """Split a presented key into its id and secret; MalformedKeyError when it is not one."""
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise MalformedKeyError(f"not an llm-fleet API key (expected {KEY_PREFIX}_<id>_<secret>)")
    return ApiKey(match["key_id"], match["secret"])


def secret_digest(secret: str) -> str:
    """What is stored in place of the secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    """Whether ``secret`` hashes to ``stored_digest``, compared in constant time."""
    return hmac.compare_digest(secret_digest(secret), stored_digest)
