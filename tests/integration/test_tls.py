"""TLS on the live cluster: HTTPS from Ray Serve's own proxy (every HTTP test of the session
runs over it) and the gRPC TLS gateway with mutual TLS, handshakes with the certificates the
session made, and a client certificate's identity mapped to a tenant."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import certifi
import grpc
import httpx
import pytest
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from services.client import FleetClient
from services.tls_gateway.gateway import close_gateway
from tests.integration.conftest import (
    LIMITED,
    LIMITED_POLICY,
    TESTS,
    RunningCluster,
    SessionPki,
    openai_client,
    seconds_until,
)
from tests.support.certs import CertificateAuthority, Issued

FORBIDDEN = "tiny-mistral"  # served, not LIMITED's


def pki(cluster: RunningCluster) -> SessionPki:
    assert cluster.pki is not None
    return cluster.pki


def gateway_stub(
    cluster: RunningCluster, client: Issued | None, trusted_ca: bytes | None = None
) -> fleet_pb2_grpc.FleetServiceStub:
    key, chain = client.pair() if client is not None else (None, None)
    root = trusted_ca or pki(cluster).ca.cert_file.read_bytes()
    credentials = grpc.ssl_channel_credentials(root, key, chain)
    assert cluster.endpoints.grpc_tls is not None
    # The server certificate names localhost and 127.0.0.1; the address is 127.0.0.1.
    channel = grpc.secure_channel(cluster.endpoints.grpc_tls, credentials)
    return fleet_pb2_grpc.FleetServiceStub(channel)


def generate(model: str = "tiny-qwen2", **hints: str) -> fleet_pb2.GenerateRequest:
    return fleet_pb2.GenerateRequest(
        prompt="hello",
        routing=fleet_pb2.RoutingHints(model=model, **hints),
        sampling=fleet_pb2.SamplingParams(max_tokens=3),
    )


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


# HTTPS ---------------------------------------------------------------------------------


def test_the_http_api_is_https_with_the_configured_certificate(cluster: RunningCluster) -> None:
    assert cluster.endpoints.http.startswith("https://")
    answer = openai_client(cluster).chat.completions.create(
        model="tiny-qwen2", messages=[{"role": "user", "content": "hi"}], max_tokens=2
    )
    assert answer.choices[0].message.content is not None


def test_a_client_that_does_not_trust_the_certificate_is_stopped_at_the_handshake(
    cluster: RunningCluster,
) -> None:
    # The public CAs only (the default context would also read SSL_CERT_FILE: the session's).
    system_trust = ssl.create_default_context(cafile=certifi.where())
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(
            f"{cluster.endpoints.http}/models", headers=cluster.headers(), verify=system_trust
        )


def test_plaintext_http_gets_no_answer_and_the_server_stays_up(cluster: RunningCluster) -> None:
    plaintext = cluster.endpoints.http.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{plaintext}/models", headers=cluster.headers(), timeout=10)
    answer = httpx.get(f"{cluster.endpoints.http}/models", headers=cluster.headers(), timeout=10)
    assert answer.status_code == 200


# gRPC over the TLS gateway ----------------------------------------------------------------


def test_a_client_certificate_and_an_api_key_call_as_the_keys_tenant(
    cluster: RunningCluster,
) -> None:
    stub = gateway_stub(cluster, pki(cluster).plain_client)
    answer = stub.Generate(generate(), metadata=cluster.metadata(TESTS), timeout=60)
    assert answer.usage.completion_tokens == 3
    names = {
        m.id
        for m in stub.ListModels(
            fleet_pb2.ListModelsRequest(), metadata=cluster.metadata(), timeout=30
        ).models
    }
    assert set(cluster.model_names) <= names


def test_streams_pass_the_gateway_whole(cluster: RunningCluster) -> None:
    stub = gateway_stub(cluster, pki(cluster).plain_client)
    events = list(stub.GenerateStream(generate(), metadata=cluster.metadata(), timeout=60))
    assert events[-1].WhichOneof("event") == "end"
    assert events[-1].end.usage.completion_tokens == 3


def test_a_certificate_without_a_key_proves_nothing_unless_it_is_mapped(
    cluster: RunningCluster,
) -> None:
    stub = gateway_stub(cluster, pki(cluster).plain_client)
    refused = refusal(lambda: stub.Generate(generate(), timeout=60))
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_mapped_certificate_calls_as_its_tenant_with_no_key(cluster: RunningCluster) -> None:
    stub = gateway_stub(cluster, pki(cluster).mapped_client)
    listed = stub.ListModels(fleet_pb2.ListModelsRequest(), timeout=30)
    assert sorted(model.id for model in listed.models) == sorted(LIMITED_POLICY.models)
    answer = stub.Generate(generate(), timeout=60)
    assert answer.usage.completion_tokens == 3
    refused = refusal(lambda: stub.Generate(generate(FORBIDDEN), timeout=60))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_typed_client_speaks_tls_with_a_certificate(cluster: RunningCluster) -> None:
    key, chain = pki(cluster).mapped_client.pair()
    credentials = grpc.ssl_channel_credentials(pki(cluster).ca.cert_file.read_bytes(), key, chain)
    assert cluster.endpoints.grpc_tls is not None
    with FleetClient(cluster.endpoints.grpc_tls, api_key="", credentials=credentials) as client:
        names = sorted(model.id for model in client.list_models())
        text = "".join(
            delta.text
            for delta in client.generate_stream(model="tiny-qwen2", prompt="hi", max_tokens=3)
        )
    assert names == sorted(LIMITED_POLICY.models)
    assert text


def test_a_mapped_certificate_cannot_claim_another_tenant(cluster: RunningCluster) -> None:
    stub = gateway_stub(cluster, pki(cluster).mapped_client)
    claims = [*cluster.metadata(TESTS), ("x-fleet-tenant", TESTS)]
    # The key, the header and the message's own tenant all say TESTS; the certificate wins.
    refused = refusal(
        lambda: stub.Generate(generate(FORBIDDEN, tenant=TESTS), metadata=claims, timeout=60)
    )
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert LIMITED not in refused.details()  # reveals no tenant names


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate"])
def test_mutual_tls_refuses_clients_without_a_certificate_of_the_ca(
    cluster: RunningCluster, who: str, tmp_path: Path
) -> None:
    client = None
    if who != "no certificate":
        client = CertificateAuthority(tmp_path, "rogue-ca").issue("reports-service")
    stub = gateway_stub(cluster, client)
    refused = refusal(lambda: stub.Generate(generate(), metadata=cluster.metadata(), timeout=30))
    assert refused.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_that_does_not_trust_the_gateway_is_stopped(
    cluster: RunningCluster, tmp_path: Path
) -> None:
    other_ca = CertificateAuthority(tmp_path, "other-ca")
    stub = gateway_stub(
        cluster, pki(cluster).plain_client, trusted_ca=other_ca.cert_file.read_bytes()
    )
    refused = refusal(lambda: stub.Generate(generate(), metadata=cluster.metadata(), timeout=30))
    assert refused.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_grpc_to_the_gateway_gets_no_answer(cluster: RunningCluster) -> None:
    assert cluster.endpoints.grpc_tls is not None
    with grpc.insecure_channel(cluster.endpoints.grpc_tls) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        refused = refusal(
            lambda: stub.Generate(generate(), metadata=cluster.metadata(), timeout=10)
        )
    assert refused.code() == grpc.StatusCode.UNAVAILABLE


def test_the_gateway_publishes_only_llm_fleets_services(cluster: RunningCluster) -> None:
    key, chain = pki(cluster).plain_client.pair()
    credentials = grpc.ssl_channel_credentials(pki(cluster).ca.cert_file.read_bytes(), key, chain)
    assert cluster.endpoints.grpc_tls is not None
    with grpc.secure_channel(cluster.endpoints.grpc_tls, credentials) as channel:
        ray_serve_api = channel.unary_unary("/ray.serve.RayServeAPIService/ListApplications")
        refused = refusal(lambda: ray_serve_api(b"", timeout=10))
    assert refused.code() == grpc.StatusCode.UNIMPLEMENTED


def test_the_router_brings_a_lost_gateway_back(cluster: RunningCluster) -> None:
    """What a cluster deployed from its Serve config alone (KubeRay) relies on: the router
    replicas start the gateway whenever it is not running."""
    close_gateway()

    def answers() -> bool:
        # A new channel each time: a failed one waits out gRPC's reconnect backoff.
        stub = gateway_stub(cluster, pki(cluster).mapped_client)
        try:
            return bool(stub.ListModels(fleet_pb2.ListModelsRequest(), timeout=5).models)
        except grpc.RpcError:
            return False

    back_after_s = seconds_until(answers, timeout_s=60)
    print(f"gateway back {back_after_s:.1f} s after it was stopped")
