"""An HTTP client that goes away mid-stream aborts its generation in the engine."""

from __future__ import annotations

import httpx

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
    with httpx.Client(timeout=60) as http, http.stream("POST", url, json=body) as response:
        assert response.status_code == 200
        first = next(response.iter_lines())
        assert first.startswith("data: ")
        assert unfinished_engine_requests(LONG_GENERATION_MODEL) == 1
    idle_after_s = wait_for_idle_engine(LONG_GENERATION_MODEL, timeout_s=full_generation_s)
    assert idle_after_s < full_generation_s / 2
