from services.tls_gateway.identity import (
    certificate_identities,
    certificate_tenant,
    forwarded_metadata,
)

CLIENT_METADATA = (
    ("authorization", "Bearer flk_client"),
    ("x-fleet-tenant", "someone-else"),
    ("x-request-id", "r-1"),
    ("user-agent", "grpc-python/1.85"),
    ("grpc-accept-encoding", "gzip"),
    ("trace-bin", b"\x01\x02"),
)


def test_identities_are_the_common_name_then_the_alternative_names() -> None:
    context = {
        "x509_common_name": [b"billing"],
        "x509_subject_alternative_name": [b"spiffe://mesh/billing", b"billing.svc"],
        "transport_security_type": [b"ssl"],
    }
    assert certificate_identities(context) == ["billing", "spiffe://mesh/billing", "billing.svc"]
    assert certificate_identities({"transport_security_type": [b"ssl"]}) == []


def test_the_first_listed_identity_names_the_tenant() -> None:
    tenants = {"spiffe://mesh/billing": "acme", "billing": "other"}
    assert certificate_tenant(["billing", "spiffe://mesh/billing"], tenants) == "other"
    assert certificate_tenant(["spiffe://mesh/billing"], tenants) == "acme"
    assert certificate_tenant(["unlisted"], tenants) is None


def test_without_a_certificate_tenant_the_client_metadata_passes_minus_per_hop_keys() -> None:
    forwarded = forwarded_metadata(CLIENT_METADATA, tenant=None, gateway_token="flk_gateway")
    assert forwarded == [
        ("authorization", "Bearer flk_client"),
        ("x-fleet-tenant", "someone-else"),
        ("x-request-id", "r-1"),
        ("trace-bin", b"\x01\x02"),
    ]


def test_a_certificate_tenant_replaces_the_clients_credentials_and_claim() -> None:
    forwarded = forwarded_metadata(CLIENT_METADATA, tenant="acme", gateway_token="flk_gateway")
    assert forwarded == [
        ("x-request-id", "r-1"),
        ("trace-bin", b"\x01\x02"),
        ("authorization", "Bearer flk_gateway"),
        ("x-fleet-tenant", "acme"),
    ]


def test_with_authentication_off_only_the_tenant_is_named() -> None:
    forwarded = forwarded_metadata(CLIENT_METADATA, tenant="acme", gateway_token=None)
    assert ("x-fleet-tenant", "acme") in forwarded
    assert all(key != "authorization" for key, _ in forwarded)
