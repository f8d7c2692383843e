"""`fleet down` drains: streams in flight finish, new requests are refused, then it stops."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from cluster.launcher import drain_router
from tests.integration.conftest import LONG_GENERATION_MODEL, RunningCluster

TOKENS = 200


@pytest.mark.teardown
def test_draining_finishes_the_streams_in_flight_and_refuses_new_requests(
    cluster: RunningCluster,
) -> None:
    body = {
        "model": LONG_GENERATION_MODEL,
        "prompt": "status",
        "max_tokens": TOKENS,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    url = f"{cluster.endpoints.http}/completions"
    started = threading.Event()
    events: list[str] = []

    def stream() -> None:
        with (
            httpx.Client(timeout=120, headers=cluster.headers()) as http,
            http.stream("POST", url, json=body) as response,
        ):
            for line in response.iter_lines():
                if line:
                    events.append(line.removeprefix("data: "))
                    started.set()

    reader = threading.Thread(target=stream)
    reader.start()
    assert started.wait(60), "the stream never started"
    drain_router()
    reader.join(60)
    assert events[-1] == "[DONE]"
    usage = json.loads(events[-2])["usage"]
    assert usage["completion_tokens"] == TOKENS
    assert not any('"error"' in event for event in events)
    refused = httpx.post(url, json={**body, "stream": False}, headers=cluster.headers(), timeout=30)
    assert refused.status_code >= 400
