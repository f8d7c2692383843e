"""The ``http.tls`` and ``grpc.tls`` sections of a cluster config.

Ray Serve's HTTP proxy serves HTTPS itself (uvicorn) but cannot require client certificates.
Its gRPC proxy has no TLS at all, so ``grpc.tls`` starts llm-fleet's gateway: a grpcio TLS
server on the head node that hands each call, bytes untouched, to that proxy.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.auth.config import TenantName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(_Strict):
    """The certificate an endpoint presents. Paths are relative to the config file and must
    be readable where the endpoint runs (every node with a proxy, for HTTP)."""

    cert_file: Annotated[str, Field(min_length=1)]
    """PEM certificate chain, the server's certificate first."""
    key_file: Annotated[str, Field(min_length=1)]
    """PEM private key of that certificate (unencrypted)."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("cert_file", "key_file")


class GrpcTlsConfig(TlsConfig):
    """The gRPC TLS gateway: where it listens and, for mutual TLS, whom it lets in."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("cert_file", "key_file", "client_ca_file")

    port: Annotated[int, Field(ge=1, le=65535)] = 9443
    client_ca_file: str | None = None
    """Mutual TLS: a client must present a certificate this CA (PEM bundle) signed, or the
    handshake fails. None: any client may connect and proves itself with its API key."""
    client_tenants: dict[Annotated[str, Field(min_length=1)], TenantName] = Field(
        default_factory=dict
    )
    """Client certificates that are an identity of their own: the certificate's subject
    common name or one of its subject alternative names (DNS name, URI such as a SPIFFE ID)
    → the tenant it calls as, with no API key. Other certificates still need a key."""
    upstream_tenant: TenantName | None = None
    """The tenant the gateway itself authenticates as when it names a certificate's tenant
    to the router; it must be in ``auth.trusted_upstreams``. Needed with ``client_tenants``
    while authentication is on."""

    @model_validator(mode="after")
    def _identities_need_client_certificates(self) -> GrpcTlsConfig:
        if self.client_tenants and self.client_ca_file is None:
            raise ValueError(
                "client_tenants: mapping certificates to tenants needs client_ca_file "
                "(mutual TLS), else no client certificate is verified"
            )
        return self

    @property
    def mutual(self) -> bool:
        return self.client_ca_file is not None


class GatewaySpec(_Strict):
    """What the gateway actor starts with."""

    tls: GrpcTlsConfig
    upstream: str
    """Ray Serve's gRPC proxy on the head node (``127.0.0.1:<grpc.port>``)."""
    key_file: str | None = None
    """The cluster's key file (where the registry reads keys); None while authentication
    is off."""
