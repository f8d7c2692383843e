"""API keys on the live cluster, over HTTP (OpenAI's client, raw HTTP) and gRPC (raw stubs):
every refusal, the tenant's limits, and a revocation taking effect without a restart."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import httpx
import openai
import pytest
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from services.auth.keys import issue_key
from services.auth.store import KeyStore
from tests.integration.conftest import (
    AB_ROUTE,
    LIMITED,
    LIMITED_POLICY,
    TESTS,
    RunningCluster,
    openai_client,
    seconds_until,
)

MODEL = "tiny-qwen2"
FORBIDDEN = "tiny-mistral"  # served, but not LIMITED's
CHAT = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 2}
# Not a key at all, and a well-formed key the cluster never issued.
MALFORMED = "sk-not-an-llm-fleet-key"
UNKNOWN = issue_key().token


def http_chat(cluster: RunningCluster, headers: dict[str, str], **body: object) -> httpx.Response:
    return httpx.post(
        f"{cluster.endpoints.http}/chat/completions",
        json={"model": MODEL, **CHAT, **body},
        headers=headers,
        timeout=60,
    )


def grpc_generate(
    cluster: RunningCluster, metadata: list[tuple[str, str]], method: str = "Generate", **hints
) -> fleet_pb2.GenerateResponse | list[fleet_pb2.GenerateStreamResponse]:
    request = fleet_pb2.GenerateRequest(
        prompt="hello",
        routing=fleet_pb2.RoutingHints(**{"model": MODEL, **hints}),
        sampling=fleet_pb2.SamplingParams(max_tokens=2),
    )
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        call = getattr(fleet_pb2_grpc.FleetServiceStub(channel), method)
        answer = call(request, metadata=metadata, timeout=60)
        return list(answer) if method == "GenerateStream" else answer


def grpc_refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("headers", "what"),
    [
        ({}, "no key"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, "not Bearer"),
        (bearer(MALFORMED), "malformed"),
        (bearer(UNKNOWN), "unknown"),
    ],
)
def test_http_without_a_valid_key_is_401_and_says_nothing_more(
    cluster: RunningCluster, headers: dict[str, str], what: str
) -> None:
    response = http_chat(cluster, headers)
    assert response.status_code == 401, what
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("authentication_error", 401)
    assert MALFORMED not in response.text and UNKNOWN not in response.text
    assert httpx.get(f"{cluster.endpoints.http}/models", headers=headers).status_code == 401


def test_openai_client_with_a_wrong_key_gets_authentication_error(cluster: RunningCluster) -> None:
    with (
        openai.OpenAI(base_url=cluster.endpoints.http, api_key=UNKNOWN, max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(model=MODEL, **CHAT)


@pytest.mark.parametrize("method", ["Generate", "GenerateStream"])
@pytest.mark.parametrize(
    "metadata", [[], [("authorization", f"Bearer {MALFORMED}")], [("authorization", UNKNOWN)]]
)
def test_grpc_without_a_valid_key_is_unauthenticated(
    cluster: RunningCluster, metadata: list[tuple[str, str]], method: str
) -> None:
    error = grpc_refusal(lambda: grpc_generate(cluster, metadata, method))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert UNKNOWN not in (error.details() or "")


def test_grpc_list_models_needs_a_key(cluster: RunningCluster) -> None:
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        error = grpc_refusal(lambda: stub.ListModels(fleet_pb2.ListModelsRequest(), timeout=30))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_tenant_sees_and_reaches_only_its_models(cluster: RunningCluster) -> None:
    allowed = set(LIMITED_POLICY.models)
    with openai_client(cluster, LIMITED) as client:
        assert {model.id for model in client.models.list()} == allowed
        with pytest.raises(openai.PermissionDeniedError) as caught:
            client.chat.completions.create(model=FORBIDDEN, **CHAT)
    error = caught.value.body
    assert (error["type"], error["param"]) == ("permission_denied", "model")
    # It names the caller's own models, nothing of what other tenants may use.
    assert "by-request" not in error["message"] and AB_ROUTE.name in error["message"]
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        listed = stub.ListModels(
            fleet_pb2.ListModelsRequest(), metadata=cluster.metadata(LIMITED), timeout=30
        )
    assert {model.id for model in listed.models} == allowed
    for method in ("Generate", "GenerateStream"):
        refused = grpc_refusal(
            lambda method=method: grpc_generate(
                cluster, cluster.metadata(LIMITED), method, model=FORBIDDEN
            )
        )
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_tenants_max_tokens_caps_and_refuses(cluster: RunningCluster) -> None:
    ceiling = LIMITED_POLICY.max_tokens
    assert ceiling is not None
    body = {"messages": CHAT["messages"], "temperature": 0}
    capped = http_chat(cluster, cluster.headers(LIMITED), max_tokens=None, **body)
    assert capped.status_code == 200, capped.text
    assert capped.json()["usage"]["completion_tokens"] == ceiling  # random weights run on
    over = http_chat(cluster, cluster.headers(LIMITED), max_tokens=ceiling + 1)
    assert over.status_code == 403
    assert over.json()["error"]["param"] == "max_tokens"
    refused = grpc_refusal(lambda: grpc_generate_tokens(cluster, ceiling + 1))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_tenants_context_limit_refuses_long_prompts(cluster: RunningCluster) -> None:
    long_prompt = " ".join(["hello"] * 80)  # well over 64 tokens for any tokenizer
    messages = [{"role": "user", "content": long_prompt}]
    over = http_chat(cluster, cluster.headers(LIMITED), messages=messages)
    assert over.status_code == 403, over.text
    assert over.json()["error"]["param"] == "messages"
    assert "64 tokens of context" in over.json()["error"]["message"]
    refused = grpc_refusal(lambda: grpc_generate_tokens(cluster, 2, prompt=long_prompt))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    # The same prompt is fine for a tenant without the limit.
    assert http_chat(cluster, cluster.headers(), messages=messages).status_code == 200


def grpc_generate_tokens(
    cluster: RunningCluster, max_tokens: int, prompt: str = "hello"
) -> fleet_pb2.GenerateResponse:
    request = fleet_pb2.GenerateRequest(
        prompt=prompt,
        routing=fleet_pb2.RoutingHints(model=MODEL),
        sampling=fleet_pb2.SamplingParams(max_tokens=max_tokens),
    )
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        return stub.Generate(request, metadata=cluster.metadata(LIMITED), timeout=60)


def test_keys_made_and_revoked_on_the_running_cluster_count_within_seconds(
    cluster: RunningCluster,
) -> None:
    # Warm: the tenant's first request on a model builds its guard checks (seconds).
    assert http_chat(cluster, cluster.headers()).status_code == 200
    store = KeyStore(cluster.key_file)
    issued, record = store.create(tenant=TESTS, name="revoked in a test")
    headers, metadata = bearer(issued.token), [("authorization", f"Bearer {issued.token}")]
    accepted_s = seconds_until(lambda: http_chat(cluster, headers).status_code == 200, 10)
    assert grpc_generate(cluster, metadata).text is not None

    store.revoke(record.key_id)
    revoked_s = seconds_until(lambda: http_chat(cluster, headers).status_code == 401, 10)
    error = grpc_refusal(lambda: grpc_generate(cluster, metadata))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    print(f"new key accepted after {accepted_s:.1f} s, revoked key refused after {revoked_s:.1f} s")
    # The session's own key still works.
    assert http_chat(cluster, cluster.headers()).status_code == 200
