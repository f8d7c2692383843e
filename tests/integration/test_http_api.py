"""The OpenAI-compatible HTTP API, through the official ``openai`` client, on every family."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.integration.conftest import RunningCluster

FAMILIES = ["tiny-mistral", "tiny-mixtral", "tiny-qwen2", "tiny-phi3"]
GREEDY = {"temperature": 0.0, "seed": 7, "max_tokens": 16}
MESSAGES = [{"role": "user", "content": "Which replicas are healthy?"}]


@pytest.mark.parametrize("model", FAMILIES)
def test_chat_completion(client: openai.OpenAI, model: str) -> None:
    response = client.chat.completions.create(model=model, messages=MESSAGES, **GREEDY)
    choice = response.choices[0]
    assert response.model == model
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason in {"stop", "length"}
    assert response.usage.completion_tokens > 0


@pytest.mark.parametrize("model", FAMILIES)
def test_completion(client: openai.OpenAI, model: str) -> None:
    response = client.completions.create(model=model, prompt="The cluster is", **GREEDY)
    assert response.model == model
    assert response.choices[0].text
    assert response.usage.prompt_tokens > 0


@pytest.mark.parametrize("model", FAMILIES)
def test_streamed_chat_equals_unary_chat(client: openai.OpenAI, model: str) -> None:
    unary = client.chat.completions.create(model=model, messages=MESSAGES, **GREEDY)
    stream = client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **GREEDY)
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 1
    assert streamed == unary.choices[0].message.content


@pytest.mark.parametrize("model", FAMILIES)
def test_streamed_completion_equals_unary_completion(client: openai.OpenAI, model: str) -> None:
    unary = client.completions.create(model=model, prompt="The cluster is", **GREEDY)
    stream = client.completions.create(model=model, prompt="The cluster is", stream=True, **GREEDY)
    streamed = "".join(chunk.choices[0].text for chunk in stream if chunk.choices)
    assert streamed == unary.choices[0].text


def test_models_lists_every_served_model(client: openai.OpenAI, cluster: RunningCluster) -> None:
    listed = {model.id for model in client.models.list()}
    assert listed == set(cluster.model_names) | {route.name for route in cluster.config.routes}
    assert client.models.retrieve("tiny-qwen2").id == "tiny-qwen2"


def test_health(cluster: RunningCluster) -> None:
    response = httpx.get(cluster.endpoints.http.removesuffix("/v1") + "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_route_is_reported_in_headers(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="tiny-qwen2", messages=MESSAGES, **GREEDY
    )
    assert raw.headers["x-fleet-model"] == "tiny-qwen2"
