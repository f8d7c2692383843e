"""The gRPC API through Ray Serve's gRPC proxy, on every family."""

from __future__ import annotations

import grpc
import pytest
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from services.client import FinishReason, FleetClient, FleetClientError
from tests.integration.conftest import RunningCluster

FAMILIES = ["tiny-mistral", "tiny-mixtral", "tiny-qwen2", "tiny-phi3"]
GREEDY = {"temperature": 0.0, "seed": 11, "max_tokens": 16}
# Long enough to span several of the engine's ~50 ms stream batches (one message each).
STREAMED_TOKENS = 160
MESSAGES = [{"role": "user", "content": "Which replicas are healthy?"}]


@pytest.mark.parametrize("model", FAMILIES)
def test_stream_deltas_join_to_the_unary_text(grpc_client: FleetClient, model: str) -> None:
    params = {**GREEDY, "max_tokens": STREAMED_TOKENS}
    unary = grpc_client.generate(model=model, messages=MESSAGES, **params)
    assert unary.text
    assert unary.route.model == model
    assert unary.usage.completion_tokens == STREAMED_TOKENS
    assert unary.finish_reason == FinishReason.LENGTH
    assert unary.time_to_first_token_ms > 0

    stream = grpc_client.generate_stream(model=model, messages=MESSAGES, **params)
    deltas = [delta.text for delta in stream]
    assert len(deltas) > 1
    assert "".join(deltas) == unary.text
    assert stream.end.usage.completion_tokens == STREAMED_TOKENS
    assert stream.end.route.model == model
    assert stream.end.time_to_first_token_ms > 0


@pytest.mark.parametrize("model", FAMILIES)
def test_prompt_input(grpc_client: FleetClient, model: str) -> None:
    answer = grpc_client.generate(model=model, prompt="The cluster is", **GREEDY)
    assert answer.text
    assert answer.usage.prompt_tokens > 0


def test_ignore_eos_generates_exactly_max_tokens(grpc_client: FleetClient) -> None:
    # Load tests rely on it: every request the same length, whatever the model says.
    params = {**GREEDY, "max_tokens": 48, "ignore_eos": True}
    answer = grpc_client.generate(model="tiny-qwen2", prompt="The cluster is", **params)
    assert answer.usage.completion_tokens == 48
    assert answer.finish_reason == FinishReason.LENGTH


def test_list_models(grpc_client: FleetClient, cluster: RunningCluster) -> None:
    models = {model.id: model for model in grpc_client.list_models()}
    routes = {route.name for route in cluster.config.routes}
    assert set(models) == set(cluster.model_names) | routes
    assert models["tiny-qwen2"].max_model_len == 1024


def test_unknown_model_is_not_found(grpc_client: FleetClient) -> None:
    with pytest.raises(FleetClientError) as caught:
        grpc_client.generate(model="gpt-9", prompt="hi")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    assert "tiny-qwen2" in caught.value.message


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (
            fleet_pb2.GenerateRequest(
                prompt="hi",
                routing=fleet_pb2.RoutingHints(model="tiny-qwen2"),
                sampling=fleet_pb2.SamplingParams(temperature=-1),
            ),
            "temperature",
        ),
        (
            fleet_pb2.GenerateRequest(
                prompt="hi",
                routing=fleet_pb2.RoutingHints(model="tiny-qwen2"),
                sampling=fleet_pb2.SamplingParams(max_tokens=0),
            ),
            "max_tokens",
        ),
        (fleet_pb2.GenerateRequest(routing=fleet_pb2.RoutingHints(model="tiny-qwen2")), "input"),
        (fleet_pb2.GenerateRequest(prompt="hi"), "model"),
    ],
)
@pytest.mark.parametrize("method", ["Generate", "GenerateStream"])
def test_invalid_argument_names_the_field(
    cluster: RunningCluster, request_: fleet_pb2.GenerateRequest, field: str, method: str
) -> None:
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            call = getattr(stub, method)(request_, timeout=30, metadata=cluster.metadata())
            if method == "GenerateStream":
                list(call)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in caught.value.details()


def test_prompt_longer_than_context_is_invalid_argument(grpc_client: FleetClient) -> None:
    with pytest.raises(FleetClientError) as caught:
        grpc_client.generate(model="tiny-qwen2", prompt="replicas " * 3000, max_tokens=4)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "prompt" in caught.value.message or "context" in caught.value.message


def test_server_stays_up_after_errors(grpc_client: FleetClient) -> None:
    for _ in range(3):
        with pytest.raises(FleetClientError):
            grpc_client.generate(model="nope", prompt="hi")
    # Random weights may sample tokens that decode to nothing: count tokens, not text.
    answer = grpc_client.generate(model="tiny-qwen2", prompt="hi", max_tokens=2)
    assert answer.usage.completion_tokens == 2
