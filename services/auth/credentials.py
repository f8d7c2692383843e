"""The API key a request presents: ``Authorization: Bearer <key>`` over HTTP, the
``authorization`` metadata entry (same value) over gRPC."""

from __future__ import annotations

from services.errors import AuthenticationError

# Where credentials and tenant claims travel: HTTP header names and gRPC metadata keys alike
# (gRPC metadata keys are lower case).
AUTHORIZATION_METADATA = "authorization"
TENANT_METADATA = "x-fleet-tenant"
BEARER = "bearer"
MISSING = "no API key: send 'Authorization: Bearer <key>'"
MALFORMED = "the Authorization value is not 'Bearer <key>'"


def bearer_token(authorization: str | None) -> str:
    """The key in an ``Authorization`` value; AuthenticationError when there is none."""
    if not authorization or not authorization.strip():
        raise AuthenticationError(MISSING)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != BEARER or not token.strip():
        raise AuthenticationError(MALFORMED)
    return token.strip()
