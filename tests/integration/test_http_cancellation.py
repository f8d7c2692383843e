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
