"""Per-tenant quotas on the live cluster with two router replicas: requests and tokens per
minute and requests in flight are counted once for the whole cluster, refused with 429 +
Retry-After / RESOURCE_EXHAUSTED before any model works on them. With two replicas up, a
revoked key is checked here too: every replica refuses it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest
from fleet.v1 import fleet_pb2, fleet_pb2_grpc
from ray.serve.context import _get_global_client

from cluster.rollout import apply_config
from cluster.status import APP_NAME, ROUTER_DEPLOYMENT
from services.auth.registry import POLL_INTERVAL_S
from services.auth.store import KeyStore
from tests.integration.conftest import (
    LONG_GENERATION_MODEL,
    QUOTAS,
    TESTS,
    RunningCluster,
    seconds_until,
)

RPM, TPM, STREAMS = "rpm-capped", "tpm-capped", "streams-capped"
MODEL = "tiny-qwen2"
ROUTERS = 2
LONG_TOKENS = 1000


@pytest.fixture(scope="module", autouse=True)
def two_routers(cluster: RunningCluster) -> Iterator[None]:
    router = cluster.config.router.model_copy(update={"replicas": ROUTERS})
    apply_config(cluster.config.model_copy(update={"router": router}), timeout_s=300)
    yield
    apply_config(cluster.config, timeout_s=300)


def running_routers() -> int:
    details = _get_global_client().get_serve_details()["applications"][APP_NAME]
    replicas = details["deployments"][ROUTER_DEPLOYMENT]["replicas"]
    return sum(replica["state"] == "RUNNING" for replica in replicas)


def http_call(
    cluster: RunningCluster, tenant: str, max_tokens: int = 1, model: str = MODEL
) -> httpx.Response:
    return httpx.post(
        f"{cluster.endpoints.http}/completions",
        json={"model": model, "prompt": "count", "max_tokens": max_tokens, "temperature": 0},
        headers=cluster.headers(tenant),
        timeout=60,
    )


def grpc_call(
    cluster: RunningCluster, tenant: str, max_tokens: int = 1, model: str = MODEL
) -> grpc.StatusCode:
    """The status of one unary call, with its trailing metadata checked on a refusal."""
    request = fleet_pb2.GenerateRequest(
        prompt="count",
        routing=fleet_pb2.RoutingHints(model=model),
        sampling=fleet_pb2.SamplingParams(max_tokens=max_tokens),
    )
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        try:
            stub.Generate(request, metadata=cluster.metadata(tenant), timeout=60)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                metadata = dict(error.trailing_metadata())
                assert float(metadata["fleet-retry-after-s"]) >= 0
                assert metadata["fleet-quota"] in QUOTAS[tenant].model_fields_set
            return error.code()
    return grpc.StatusCode.OK


def assert_http_refusal(response: httpx.Response, quota: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert (error["type"], error["quota"]) == ("rate_limit_exceeded", quota)


def test_requests_per_minute_hold_across_router_replicas(cluster: RunningCluster) -> None:
    assert running_routers() == ROUTERS
    limit = QUOTAS[RPM].requests_per_minute
    assert limit is not None
    outcomes: list[str] = []
    for attempt in range(2 * limit):
        if attempt % 2:
            outcomes.append(grpc_call(cluster, RPM).name)
        else:
            response = http_call(cluster, RPM)
            if response.status_code == 429:
                assert_http_refusal(response, "requests_per_minute")
            outcomes.append("OK" if response.status_code == 200 else str(response.status_code))
    assert outcomes.count("OK") == limit, outcomes
    assert set(outcomes) == {"OK", "429", "RESOURCE_EXHAUSTED"}, outcomes


def test_tokens_per_minute_count_prompt_and_completion(cluster: RunningCluster) -> None:
    limit = QUOTAS[TPM].tokens_per_minute
    assert limit is not None
    # One request that alone uses the minute's tokens (random weights never stop early).
    first = http_call(cluster, TPM, max_tokens=limit)
    assert first.status_code == 200
    assert first.json()["usage"]["total_tokens"] > limit
    # Charged once it has ended (the router does not wait for the ledger's answer).
    seconds_until(lambda: http_call(cluster, TPM).status_code == 429, timeout_s=10)
    assert_http_refusal(http_call(cluster, TPM), "tokens_per_minute")
    assert grpc_call(cluster, TPM) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_concurrent_streams_admit_only_so_many_at_once(cluster: RunningCluster) -> None:
    limit = QUOTAS[STREAMS].concurrent_streams
    assert limit is not None
    callers = 3 * limit  # at once: the refused ones answer long before the first finishes
    with ThreadPoolExecutor(max_workers=callers) as pool:
        outcomes = list(
            pool.map(
                lambda n: long_call(cluster, STREAMS, grpc_transport=bool(n % 2)), range(callers)
            )
        )
    assert outcomes.count("OK") == limit, outcomes
    assert set(outcomes) == {"OK", "429", "RESOURCE_EXHAUSTED"}, outcomes
    # Ended requests free their slots.
    seconds_until(lambda: grpc_call(cluster, STREAMS) == grpc.StatusCode.OK, timeout_s=10)


def long_call(cluster: RunningCluster, tenant: str, *, grpc_transport: bool) -> str:
    """One long generation (random weights never stop early); its outcome as a name."""
    if grpc_transport:
        return grpc_call(cluster, tenant, max_tokens=LONG_TOKENS, model=LONG_GENERATION_MODEL).name
    response = http_call(cluster, tenant, max_tokens=LONG_TOKENS, model=LONG_GENERATION_MODEL)
    if response.status_code == 429:
        assert_http_refusal(response, "concurrent_streams")
    return "OK" if response.status_code == 200 else str(response.status_code)


def test_a_revoked_key_is_refused_by_every_router_replica(cluster: RunningCluster) -> None:
    store = KeyStore(cluster.key_file)
    issued, record = store.create(tenant=TESTS, name="revoked with two routers")
    headers = {"Authorization": f"Bearer {issued.token}"}

    def status() -> int:
        body = {"model": MODEL, "prompt": "count", "max_tokens": 1}
        url = f"{cluster.endpoints.http}/completions"
        return httpx.post(url, json=body, headers=headers, timeout=60).status_code

    seconds_until(lambda: all(status() == 200 for _ in range(6)), timeout_s=15)
    store.revoke(record.key_id)
    seconds_until(lambda: status() == 401, timeout_s=10)
    time.sleep(2 * POLL_INTERVAL_S)  # every replica has asked the registry since
    assert {status() for _ in range(10)} == {401}
