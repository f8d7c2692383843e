"""Who a TLS client is, and the metadata the gateway hands on for it.

A client certificate listed in ``grpc.tls.client_tenants`` is an identity of its own: the
gateway replaces whatever the client claimed (its ``authorization`` and ``x-fleet-tenant``)
with its own key, whose tenant the config trusts, and the certificate's tenant. Every other
call keeps the client's metadata and proves itself with the client's API key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from services.auth.credentials import AUTHORIZATION_METADATA, TENANT_METADATA

# What gRPC sets on every hop itself: the next hop sets its own.
_PER_HOP_KEYS = frozenset({"user-agent", "content-type", "te", "host"})
_PER_HOP_PREFIXES = (":", "grpc-")

MetadataValue = str | bytes
Metadata = Sequence[tuple[str, MetadataValue]]


def certificate_identities(auth_context: Mapping[str, Iterable[bytes]]) -> list[str]:
    """The client certificate's subject common name, then its subject alternative names
    (empty without a verified certificate)."""
    names = [
        *auth_context.get("x509_common_name", ()),
        *auth_context.get("x509_subject_alternative_name", ()),
    ]
    return [name.decode("utf-8", "replace") for name in names]


def certificate_tenant(identities: Iterable[str], client_tenants: Mapping[str, str]) -> str | None:
    """The tenant of the first identity the config lists, or None."""
    return next((client_tenants[name] for name in identities if name in client_tenants), None)


def forwarded_metadata(
    incoming: Metadata, *, tenant: str | None, gateway_token: str | None
) -> list[tuple[str, MetadataValue]]:
    """The client's metadata for the hop to Ray Serve's proxy. With a certificate ``tenant``
    the client's own credentials and tenant claim are dropped: the certificate speaks for
    it, through the gateway's key (``gateway_token``; None while authentication is off)."""
    kept = [(key, value) for key, value in incoming if not _per_hop(key)]
    if tenant is None:
        return kept
    kept = [(key, value) for key, value in kept if key not in _CLAIMS]
    if gateway_token is not None:
        kept.append((AUTHORIZATION_METADATA, f"Bearer {gateway_token}"))
    kept.append((TENANT_METADATA, tenant))
    return kept


_CLAIMS = frozenset({AUTHORIZATION_METADATA, TENANT_METADATA})


def _per_hop(key: str) -> bool:
    return key in _PER_HOP_KEYS or key.startswith(_PER_HOP_PREFIXES)
