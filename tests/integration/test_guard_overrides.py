"""Guard policies a request asks for (``x-fleet-guard-policy``) on the live cluster, over
HTTP and gRPC: run on top of the route's when the tenant may ask for them, refused with
403 / PERMISSION_DENIED before any model works when it may not.

The embedded default guards every model with ``standard`` (card numbers redacted);
``no-account-data`` blocks them instead. OVERRIDES may ask for it, TESTS for nothing.
"""

from __future__ import annotations

import grpc
import httpx
import pytest
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from services.auth.access import GUARD_POLICY_HEADER
from tests.integration.conftest import OVERRIDES, TESTS, RunningCluster

MODEL = "tiny-qwen2"
STRICTER = "no-account-data"
CARD = "4111 1111 1111 1111"
WITH_CARD = f"charge card {CARD} please"


def http_chat(cluster: RunningCluster, tenant: str, text: str, *asked: str) -> httpx.Response:
    headers = cluster.headers(tenant)
    if asked:
        headers[GUARD_POLICY_HEADER] = ",".join(asked)
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "max_tokens": 2}
    return httpx.post(
        f"{cluster.endpoints.http}/chat/completions", json=body, headers=headers, timeout=60
    )


def grpc_refusal(  # noqa: ANN201 - grpc.RpcError is also a grpc.Call
    cluster: RunningCluster, method: str, tenant: str, *asked: str
):
    """The error a call with WITH_CARD ends with (streams are read to their end)."""
    request = fleet_pb2.GenerateRequest(
        prompt=WITH_CARD,
        routing=fleet_pb2.RoutingHints(model=MODEL),
        sampling=fleet_pb2.SamplingParams(max_tokens=2),
    )
    metadata = [*cluster.metadata(tenant), *((GUARD_POLICY_HEADER, name) for name in asked)]
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            call = getattr(stub, method)(request, timeout=60, metadata=metadata)
            if method == "GenerateStream":
                list(call)
    return caught.value


def test_the_routes_own_policy_only_redacts_the_card(cluster: RunningCluster) -> None:
    response = http_chat(cluster, OVERRIDES, WITH_CARD)

    assert response.status_code == 200, response.text
    report = response.json()["fleet"]["guardrails"]
    assert report["policies"] == ["standard"]
    assert report["input"]["redacted"] >= 1 and not report["input"]["blocked"]


def test_an_allowed_policy_asked_for_over_http_blocks_what_the_route_lets_through(
    cluster: RunningCluster,
) -> None:
    blocked = http_chat(cluster, OVERRIDES, WITH_CARD, STRICTER)
    clean = http_chat(cluster, OVERRIDES, "hello there", STRICTER)

    assert blocked.status_code == 400, blocked.text
    error = blocked.json()["error"]
    assert error["type"] == "guardrail_violation"
    assert (error["guardrail_check"], error["guardrail_category"]) == (
        "account-data",
        "CREDIT_CARD",
    )
    assert CARD not in blocked.text
    assert clean.status_code == 200, clean.text
    assert clean.json()["fleet"]["guardrails"]["policies"] == ["standard", STRICTER]


@pytest.mark.parametrize("method", ["Generate", "GenerateStream"])
def test_an_allowed_policy_asked_for_over_grpc_blocks_what_the_route_lets_through(
    cluster: RunningCluster, method: str
) -> None:
    error = grpc_refusal(cluster, method, OVERRIDES, STRICTER)

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    metadata = dict(error.trailing_metadata())
    assert metadata["fleet-error-type"] == "guardrail_violation"
    assert metadata["fleet-guardrail-check"] == "account-data"
    assert CARD not in error.details()


@pytest.mark.parametrize(
    ("tenant", "asked"),
    [(TESTS, STRICTER), (OVERRIDES, "judged"), (OVERRIDES, "no-such-policy")],
    ids=["tenant-may-ask-for-none", "policy-not-allowed", "unknown-policy"],
)
def test_a_policy_the_tenant_may_not_ask_for_is_a_403_over_http(
    cluster: RunningCluster, tenant: str, asked: str
) -> None:
    response = http_chat(cluster, tenant, "hello there", asked)

    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("permission_denied", GUARD_POLICY_HEADER)
    assert "standard" not in error["message"]  # never the policies it may not ask for


@pytest.mark.parametrize("method", ["Generate", "GenerateStream"])
def test_a_policy_the_tenant_may_not_ask_for_is_permission_denied_over_grpc(
    cluster: RunningCluster, method: str
) -> None:
    error = grpc_refusal(cluster, method, TESTS, STRICTER)

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    if method == "Generate":  # a stream refused before its first message keeps the code only
        assert dict(error.trailing_metadata())["fleet-error-param"] == GUARD_POLICY_HEADER
