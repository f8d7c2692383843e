"""What the gRPC TLS gateway adds per call, the cluster excluded.

    .venv/bin/python loadtests/tls_gateway_overhead.py [--requests 2000] [--deltas 64]

An in-process gRPC server answers ``fleet.v1.FleetService`` at once (a unary reply, and a
stream of ``--deltas`` deltas like a 64-token generation), standing in for Ray Serve's proxy.
The same calls are timed straight to it in plaintext, through the gateway with TLS, and
through it with mutual TLS and a certificate-mapped tenant (the metadata rewrite included),
one after another on one long-lived channel each (a handshake per channel, not per call).
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
from fleet.v1 import fleet_pb2, fleet_pb2_grpc
from timing import report, time_calls

from services.tls_gateway.config import GatewaySpec, GrpcTlsConfig
from services.tls_gateway.gateway import GrpcTlsGateway

# The certificates come from the test suite's helper (the repository root is no package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.certs import CertificateAuthority, Issued

REQUEST = fleet_pb2.GenerateRequest(prompt="hello", routing=fleet_pb2.RoutingHints(model="m"))


class InstantServicer(fleet_pb2_grpc.FleetServiceServicer):
    def __init__(self, deltas: int) -> None:
        self.deltas = deltas

    def Generate(
        self, request: fleet_pb2.GenerateRequest, context: grpc.ServicerContext
    ) -> fleet_pb2.GenerateResponse:
        return fleet_pb2.GenerateResponse(text="ok")

    def GenerateStream(
        self, request: fleet_pb2.GenerateRequest, context: grpc.ServicerContext
    ) -> Iterator[fleet_pb2.GenerateStreamResponse]:
        for _ in range(self.deltas):
            yield fleet_pb2.GenerateStreamResponse(delta=fleet_pb2.TextDelta(text="tok"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gateway(upstream: int, server: Issued, ca: CertificateAuthority, mutual: bool) -> int:
    tls = GrpcTlsConfig(
        port=free_port(),
        cert_file=str(server.cert_file),
        key_file=str(server.key_file),
        client_ca_file=str(ca.cert_file) if mutual else None,
        client_tenants={"bench-client": "bench"} if mutual else {},
    )
    GrpcTlsGateway(GatewaySpec(tls=tls, upstream=f"127.0.0.1:{upstream}").model_dump(mode="json"))
    return tls.port


def timed(label: str, stub: fleet_pb2_grpc.FleetServiceStub, requests: int) -> None:
    calls: dict[str, Callable[[], object]] = {
        "unary": lambda: stub.Generate(REQUEST, timeout=10),
        "stream": lambda: sum(1 for _ in stub.GenerateStream(REQUEST, timeout=10)),
    }
    for kind, call in calls.items():
        time_calls(call, 50)  # warm: the channel, the handshake, the gateway's loop
        report(f"{label}, {kind}", time_calls(call, requests), digits=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--deltas", type=int, default=64)
    args = parser.parse_args()
    pki = Path(tempfile.mkdtemp(prefix="tls-bench-"))
    ca = CertificateAuthority(pki, "bench-ca")
    server, client = ca.issue("bench-server", server=True), ca.issue("bench-client")

    upstream = free_port()
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    fleet_pb2_grpc.add_FleetServiceServicer_to_server(InstantServicer(args.deltas), grpc_server)
    grpc_server.add_insecure_port(f"127.0.0.1:{upstream}")
    grpc_server.start()

    plain = grpc.insecure_channel(f"127.0.0.1:{upstream}")
    timed(
        "plaintext, straight to the server", fleet_pb2_grpc.FleetServiceStub(plain), args.requests
    )
    root = ca.cert_file.read_bytes()
    tls_port = gateway(upstream, server, ca, mutual=False)
    tls = grpc.secure_channel(f"localhost:{tls_port}", grpc.ssl_channel_credentials(root))
    timed("TLS, through the gateway", fleet_pb2_grpc.FleetServiceStub(tls), args.requests)
    mutual_port = gateway(upstream, server, ca, mutual=True)
    credentials = grpc.ssl_channel_credentials(root, *client.pair())
    mutual = grpc.secure_channel(f"localhost:{mutual_port}", credentials)
    timed(
        "mutual TLS + mapped tenant, gateway",
        fleet_pb2_grpc.FleetServiceStub(mutual),
        args.requests,
    )
    grpc_server.stop(grace=None)


if __name__ == "__main__":
    main()
