"""Deadlines, cancellation and overload over gRPC: the engine stops, statuses are right."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from services.client import FleetClient, FleetClientError
from tests.integration.conftest import (
    LONG,
    LONG_GENERATION_MODEL,
    SMALL_QUEUE_MODEL,
    TESTS,
    RunningCluster,
    unfinished_engine_requests,
    wait_for_idle_engine,
)

MODEL = LONG_GENERATION_MODEL


def test_cancelled_stream_aborts_the_engine_request(
    grpc_client: FleetClient, full_generation_s: float
) -> None:
    stream = grpc_client.generate_stream(model=MODEL, **LONG)
    next(iter(stream))
    assert unfinished_engine_requests(MODEL) == 1
    stream.close()
    idle_after_s = wait_for_idle_engine(MODEL, timeout_s=full_generation_s)
    assert idle_after_s < full_generation_s / 2


def test_deadline_mid_stream_is_deadline_exceeded_and_aborts(
    grpc_client: FleetClient, full_generation_s: float
) -> None:
    deadline_s = 0.5
    stream = grpc_client.generate_stream(model=MODEL, timeout=deadline_s, **LONG)
    with pytest.raises(FleetClientError) as caught:
        for _ in stream:
            pass
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert wait_for_idle_engine(MODEL, timeout_s=full_generation_s) < full_generation_s / 2


def test_unary_deadline_is_deadline_exceeded_and_aborts(
    grpc_client: FleetClient, full_generation_s: float
) -> None:
    with pytest.raises(FleetClientError) as caught:
        grpc_client.generate(model=MODEL, timeout=0.3, **LONG)
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert wait_for_idle_engine(MODEL, timeout_s=full_generation_s) < full_generation_s / 2


def test_overload_is_resource_exhausted_and_accepted_requests_finish(
    cluster: RunningCluster,
) -> None:
    def one_call(index: int) -> str:
        # Arrivals 100 ms apart, as traffic comes: requests that reach Ray Serve's handle in
        # the same instant all count as queued until it has assigned them one by one, so a
        # simultaneous burst is refused beyond max_queued_requests + 1 even with free slots.
        time.sleep(index * 0.1)
        with FleetClient(
            cluster.endpoints.grpc, api_key=cluster.keys[TESTS], timeout=120, max_retries=0
        ) as client:
            try:
                client.generate(model=SMALL_QUEUE_MODEL, prompt="load", max_tokens=400)
            except FleetClientError as error:
                return error.code.name
            return "OK"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(one_call, range(10)))
    assert "RESOURCE_EXHAUSTED" in outcomes
    assert outcomes.count("OK") >= 3  # two running + one queued were accepted
    assert set(outcomes) <= {"OK", "RESOURCE_EXHAUSTED"}
