"""An HTTP client that goes away mid-stream, or whose deadline passes, aborts its generation
in the engine."""

from __future__ import annotations

import json

import httpx

from services.router.deadlines import TIMEOUT_HEADER
from tests.integration.conftest import (
    LONG,
    LONG_GENERATION_MODEL,
    RunningCluster,
    unfinished_engine_requests,
    wait_for_idle_engine,
)


def test_disconnect_mid_stream_aborts_the_engine_request(
    cluster: RunningCluster, full_generation_s: float
) -> None:
    body = {"model": LONG_GENERATION_MODEL, "stream": True, **LONG}
    url = f"{cluster.endpoints.http}/completions"
    with (
        httpx.Client(timeout=60, headers=cluster.headers()) as http,
        http.stream("POST", url, json=body) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        # Past the first event, which vLLM may send before the engine has the request.
        received = [next(lines) for _ in range(5)]
        assert all(line.startswith("data: ") for line in received if line)
        assert unfinished_engine_requests(LONG_GENERATION_MODEL) == 1
    idle_after_s = wait_for_idle_engine(LONG_GENERATION_MODEL, timeout_s=full_generation_s)
    assert idle_after_s < full_generation_s / 2


def test_a_deadline_header_ends_a_unary_call_with_504_and_aborts(
    cluster: RunningCluster, full_generation_s: float
) -> None:
    body = {"model": LONG_GENERATION_MODEL, **LONG}
    headers = {**cluster.headers(), TIMEOUT_HEADER: "300"}
    response = httpx.post(
        f"{cluster.endpoints.http}/completions", json=body, headers=headers, timeout=60
    )
    assert response.status_code == 504, response.text
    assert response.json()["error"]["type"] == "timeout"
    idle_after_s = wait_for_idle_engine(LONG_GENERATION_MODEL, timeout_s=full_generation_s)
    assert idle_after_s < full_generation_s / 2


def test_a_deadline_header_ends_a_stream_with_an_error_event_and_aborts(
    cluster: RunningCluster, full_generation_s: float
) -> None:
    body = {"model": LONG_GENERATION_MODEL, "stream": True, **LONG}
    headers = {**cluster.headers(), TIMEOUT_HEADER: "1000"}
    url = f"{cluster.endpoints.http}/completions"
    with (
        httpx.Client(timeout=60, headers=headers) as http,
        http.stream("POST", url, json=body) as response,
    ):
        assert response.status_code == 200
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert (error["type"], error["code"]) == ("timeout", 504)
    assert len(events) > 3  # it had been streaming
    idle_after_s = wait_for_idle_engine(LONG_GENERATION_MODEL, timeout_s=full_generation_s)
    assert idle_after_s < full_generation_s / 2


def test_a_malformed_deadline_header_is_a_400_naming_it(cluster: RunningCluster) -> None:
    body = {"model": LONG_GENERATION_MODEL, "prompt": "x", "max_tokens": 1}
    headers = {**cluster.headers(), TIMEOUT_HEADER: "soon"}
    response = httpx.post(
        f"{cluster.endpoints.http}/completions", json=body, headers=headers, timeout=60
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == TIMEOUT_HEADER
