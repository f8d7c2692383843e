"""The TLS gateway over real sockets: TLS and mutual TLS handshakes, calls handed on to an
upstream gRPC server (standing in for Ray Serve's proxy) with status, trailing metadata,
deadlines and cancellation intact, and certificate renewal without a restart."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from services.tls_gateway.config import GatewaySpec, GrpcTlsConfig
from services.tls_gateway.gateway import GrpcTlsGateway
from tests.support.certs import CertificateAuthority, Issued

MAPPED = "billing-service"
MAPPED_URI = "spiffe://mesh.example/ns/prod/sa/reports"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Upstream(fleet_pb2_grpc.FleetServiceServicer):
    """Answers with the metadata it received, so tests see what the gateway handed on."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.deadline_s: float | None = None

    def Generate(
        self, request: fleet_pb2.GenerateRequest, context: grpc.ServicerContext
    ) -> fleet_pb2.GenerateResponse:
        metadata = dict(context.invocation_metadata())
        if request.prompt == "fail":
            context.set_trailing_metadata((("fleet-retry-after-s", "7"),))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "over quota")
        if request.prompt == "slow":
            self.deadline_s = context.time_remaining()
            time.sleep(3)
        return fleet_pb2.GenerateResponse(text=json.dumps(metadata), request_id="r-1")

    def GenerateStream(
        self, request: fleet_pb2.GenerateRequest, context: grpc.ServicerContext
    ) -> Iterator[fleet_pb2.GenerateStreamResponse]:
        context.add_callback(self.cancelled.set)
        for index in range(3 if request.prompt != "endless" else 10_000):
            yield fleet_pb2.GenerateStreamResponse(delta=fleet_pb2.TextDelta(text=str(index)))
            time.sleep(0.01 if request.prompt != "endless" else 0.1)
        context.set_trailing_metadata((("fleet-model", "tiny"),))


@dataclass(frozen=True)
class Pki:
    ca: CertificateAuthority
    rogue_ca: CertificateAuthority
    server: Issued
    mapped: Issued
    mapped_by_uri: Issued
    unmapped: Issued
    rogue: Issued
    """A client certificate of another CA, with the mapped common name."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, rogue_ca = CertificateAuthority(folder, "test-ca"), CertificateAuthority(folder, "rogue-ca")
    return Pki(
        ca=ca,
        rogue_ca=rogue_ca,
        server=ca.issue("gateway", server=True),
        mapped=ca.issue(MAPPED),
        mapped_by_uri=ca.issue("reports", uri=MAPPED_URI),
        unmapped=ca.issue("some-client"),
        rogue=rogue_ca.issue(MAPPED),
    )


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Upstream, int]]:
    servicer, port = Upstream(), free_port()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    fleet_pb2_grpc.add_FleetServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    yield servicer, port
    server.stop(grace=None)


def start_gateway(upstream_port: int, **settings: object) -> GrpcTlsGateway:
    tls = GrpcTlsConfig.model_validate({"port": free_port(), **settings})
    # No key file: authentication off, so no session key (and no Ray) is needed.
    spec = GatewaySpec(tls=tls, upstream=f"127.0.0.1:{upstream_port}")
    return GrpcTlsGateway(spec.model_dump(mode="json"))


@pytest.fixture(scope="module")
def mutual(pki: Pki, upstream: tuple[Upstream, int]) -> GrpcTlsGateway:
    return start_gateway(
        upstream[1],
        cert_file=str(pki.server.cert_file),
        key_file=str(pki.server.key_file),
        client_ca_file=str(pki.ca.cert_file),
        client_tenants={MAPPED: "acme", MAPPED_URI: "reports-team"},
    )


def stub(
    gateway: GrpcTlsGateway, ca_file: Path, client: Issued | None = None
) -> fleet_pb2_grpc.FleetServiceStub:
    key, chain = client.pair() if client is not None else (None, None)
    credentials = grpc.ssl_channel_credentials(ca_file.read_bytes(), key, chain)
    channel = grpc.secure_channel(f"localhost:{gateway.config.port}", credentials)
    return fleet_pb2_grpc.FleetServiceStub(channel)


def handed_on(response: fleet_pb2.GenerateResponse) -> dict[str, str]:
    return json.loads(response.text)


CLAIMS = (("authorization", "Bearer flk_client"), ("x-fleet-tenant", "spoofed"))


def test_a_mapped_certificate_calls_as_its_tenant_whatever_it_claims(
    mutual: GrpcTlsGateway, pki: Pki
) -> None:
    client = stub(mutual, pki.ca.cert_file, pki.mapped)
    metadata = handed_on(client.Generate(fleet_pb2.GenerateRequest(prompt="hi"), metadata=CLAIMS))
    assert metadata["x-fleet-tenant"] == "acme"
    assert "authorization" not in metadata  # authentication off: nothing to present


def test_a_subject_alternative_name_maps_too(mutual: GrpcTlsGateway, pki: Pki) -> None:
    client = stub(mutual, pki.ca.cert_file, pki.mapped_by_uri)
    metadata = handed_on(client.Generate(fleet_pb2.GenerateRequest(prompt="hi")))
    assert metadata["x-fleet-tenant"] == "reports-team"


def test_an_unmapped_certificate_keeps_its_own_credentials(
    mutual: GrpcTlsGateway, pki: Pki
) -> None:
    client = stub(mutual, pki.ca.cert_file, pki.unmapped)
    metadata = handed_on(client.Generate(fleet_pb2.GenerateRequest(prompt="hi"), metadata=CLAIMS))
    assert metadata["authorization"] == "Bearer flk_client"
    assert metadata["x-fleet-tenant"] == "spoofed"  # the router ignores it from a plain tenant


@pytest.mark.parametrize("client", [None, "rogue"])
def test_mutual_tls_refuses_a_client_without_a_certificate_of_the_ca(
    mutual: GrpcTlsGateway, pki: Pki, client: str | None
) -> None:
    channel = stub(mutual, pki.ca.cert_file, getattr(pki, client) if client else None)
    with pytest.raises(grpc.RpcError) as refused:
        channel.Generate(fleet_pb2.GenerateRequest(prompt="hi"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_plaintext_client_gets_no_answer(mutual: GrpcTlsGateway) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{mutual.config.port}")
    with pytest.raises(grpc.RpcError) as refused:
        fleet_pb2_grpc.FleetServiceStub(channel).Generate(fleet_pb2.GenerateRequest(), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_that_does_not_trust_the_server_certificate_fails(
    mutual: GrpcTlsGateway, pki: Pki
) -> None:
    client = stub(mutual, pki.rogue_ca.cert_file, pki.unmapped)
    with pytest.raises(grpc.RpcError) as refused:
        client.Generate(fleet_pb2.GenerateRequest(prompt="hi"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_status_details_and_trailing_metadata_come_back(mutual: GrpcTlsGateway, pki: Pki) -> None:
    client = stub(mutual, pki.ca.cert_file, pki.unmapped)
    with pytest.raises(grpc.RpcError) as refused:
        client.Generate(fleet_pb2.GenerateRequest(prompt="fail"))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.details() == "over quota"
    assert ("fleet-retry-after-s", "7") in refused.value.trailing_metadata()


def test_streams_are_handed_on_in_order_with_their_trailers(
    mutual: GrpcTlsGateway, pki: Pki
) -> None:
    client = stub(mutual, pki.ca.cert_file, pki.unmapped)
    call = client.GenerateStream(fleet_pb2.GenerateRequest(prompt="count"))
    assert [event.delta.text for event in call] == ["0", "1", "2"]
    assert ("fleet-model", "tiny") in call.trailing_metadata()


def test_the_client_deadline_reaches_upstream(
    mutual: GrpcTlsGateway, pki: Pki, upstream: tuple[Upstream, int]
) -> None:
    client = stub(mutual, pki.ca.cert_file, pki.unmapped)
    with pytest.raises(grpc.RpcError) as late:
        client.Generate(fleet_pb2.GenerateRequest(prompt="slow"), timeout=1)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert upstream[0].deadline_s is not None and upstream[0].deadline_s <= 1


def test_a_client_that_leaves_cancels_the_upstream_call(
    mutual: GrpcTlsGateway, pki: Pki, upstream: tuple[Upstream, int]
) -> None:
    client = stub(mutual, pki.ca.cert_file, pki.unmapped)
    call = client.GenerateStream(fleet_pb2.GenerateRequest(prompt="endless"))
    next(call)
    call.cancel()
    assert upstream[0].cancelled.wait(5)


def test_methods_it_does_not_publish_are_unimplemented(mutual: GrpcTlsGateway, pki: Pki) -> None:
    key, chain = pki.unmapped.pair()
    credentials = grpc.ssl_channel_credentials(pki.ca.cert_file.read_bytes(), key, chain)
    with grpc.secure_channel(f"localhost:{mutual.config.port}", credentials) as channel:
        method = channel.unary_unary("/ray.serve.RayServeAPIService/ListApplications")
        with pytest.raises(grpc.RpcError) as refused:
            method(b"", timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_renewed_certificate_files_serve_new_handshakes(
    pki: Pki, upstream: tuple[Upstream, int], tmp_path: Path
) -> None:
    first = pki.server
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    shutil.copy(first.cert_file, cert_file)
    shutil.copy(first.key_file, key_file)
    gateway = start_gateway(upstream[1], cert_file=str(cert_file), key_file=str(key_file))
    assert stub(gateway, pki.ca.cert_file).Generate(fleet_pb2.GenerateRequest(), timeout=10)

    renewing_ca = CertificateAuthority(tmp_path, "renewing-ca")
    renewed = renewing_ca.issue("gateway-renewed", server=True)
    shutil.copy(renewed.key_file, key_file)
    shutil.copy(renewed.cert_file, cert_file)
    # A new channel, so a new handshake; the gateway has not restarted.
    answer = stub(gateway, renewing_ca.cert_file).Generate(fleet_pb2.GenerateRequest(), timeout=10)
    assert answer.request_id == "r-1"
