"""Bad input gets a clear OpenAI-style error, and the server stays up."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.integration.conftest import SMALL_QUEUE_MODEL, RunningCluster

MESSAGES = [{"role": "user", "content": "hello"}]


def test_unknown_model_is_404_listing_served_models(
    client: openai.OpenAI, cluster: RunningCluster
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=MESSAGES)
    error = caught.value.body
    assert error["param"] == "model"
    for name in cluster.model_names:
        assert name in error["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"max_tokens": -5}, "max_tokens"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
    ],
)
def test_out_of_range_parameter_is_400_naming_it(
    client: openai.OpenAI, params: dict, field: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, **params)
    assert caught.value.body["param"] == field
    assert field in caught.value.body["message"]


def test_prompt_longer_than_context_is_400(client: openai.OpenAI) -> None:
    long_prompt = "cluster replicas are healthy " * 2000
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model="tiny-qwen2", prompt=long_prompt, max_tokens=4)
    assert caught.value.body["param"] == "prompt"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="tiny-qwen2",
            messages=[{"role": "user", "content": long_prompt}],
            max_tokens=4,
            stream=True,
        )
    assert caught.value.body["param"] == "messages"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "model"),
        (b'{"model": "tiny-qwen2", "messages": "hi"}', "messages"),
        (b'{"model": "tiny-qwen2", "messages": [], "max_tokens": "many"}', "max_tokens"),
    ],
)
def test_malformed_body_is_400(cluster: RunningCluster, body: bytes, field: str | None) -> None:
    response = httpx.post(
        f"{cluster.endpoints.http}/chat/completions",
        content=body,
        headers={"content-type": "application/json", **cluster.headers()},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if field is not None:
        assert error["param"] == field or error["param"].startswith(field)


def test_server_stays_up_after_errors(client: openai.OpenAI) -> None:
    for _ in range(3):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, max_tokens=-1)
    response = client.chat.completions.create(
        model="tiny-qwen2", messages=MESSAGES, max_tokens=4, temperature=0
    )
    assert response.choices[0].message.content is not None


def test_overload_is_429_with_retry_after_and_accepted_requests_finish(
    cluster: RunningCluster,
) -> None:
    def one_call(index: int) -> httpx.Response:
        # 100 ms apart, as in the gRPC overload test (test_grpc_control.py).
        time.sleep(index * 0.1)
        body = {"model": SMALL_QUEUE_MODEL, "prompt": "load", "max_tokens": 400}
        return httpx.post(
            f"{cluster.endpoints.http}/completions",
            json=body,
            headers=cluster.headers(),
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(one_call, range(10)))
    refused = [r for r in responses if r.status_code == 429]
    assert refused, [r.status_code for r in responses]
    assert sum(r.status_code == 200 for r in responses) >= 3
    assert len(refused) + sum(r.status_code == 200 for r in responses) == 10
    for response in refused:
        assert int(response.headers["Retry-After"]) >= 1
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("rate_limit_exceeded", 429)
        assert SMALL_QUEUE_MODEL in error["message"]
