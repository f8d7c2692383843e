import json

import pytest
from fleet.v1 import fleet_pb2

from services.api import grpc_mapping
from services.errors import (
    DeadlineExceededError,
    InvalidRequestError,
    OverloadedError,
    RetryableError,
    ServerError,
)
from services.router.requests import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
)
from services.router.types import RouteDecision, RoutingHints

AB_ROUTE = RouteDecision(model="alpha-v2", route="alpha", variant="b", reason="sticky a/b")


def chat_request(**fields: object) -> fleet_pb2.GenerateRequest:
    messages = [
        fleet_pb2.ChatMessage(role="system", content="be brief"),
        fleet_pb2.ChatMessage(role="user", content="hi", name="ann"),
    ]
    fields.setdefault("routing", fleet_pb2.RoutingHints(model="alpha"))
    return fleet_pb2.GenerateRequest(chat=fleet_pb2.ChatInput(messages=messages), **fields)


def invalid(request: fleet_pb2.GenerateRequest) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        grpc_mapping.to_openai_request(request)
    return caught.value


# -- request ------------------------------------------------------------------------------


def test_chat_input_becomes_a_chat_completion_request() -> None:
    request = chat_request(
        routing=fleet_pb2.RoutingHints(
            model="alpha", routing_key="user-7", tenant="search", labels={"tier": "gold"}
        ),
        request_id="req-1",
    )

    body, hints = grpc_mapping.to_openai_request(request)

    assert isinstance(body, ChatCompletionRequest)
    assert body.model == "alpha"
    assert body.messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi", "name": "ann"},
    ]
    assert body.request_id == "req-1"
    assert not body.stream
    assert hints == RoutingHints(
        model="alpha", routing_key="user-7", tenant="search", labels={"tier": "gold"}
    )


def test_prompt_input_becomes_a_completion_request() -> None:
    request = fleet_pb2.GenerateRequest(
        prompt="Once upon", routing=fleet_pb2.RoutingHints(model="beta")
    )

    body, hints = grpc_mapping.to_openai_request(request)

    assert isinstance(body, CompletionRequest)
    assert body.prompt == "Once upon"
    assert hints == RoutingHints(model="beta")


def test_set_sampling_fields_are_passed_and_unset_ones_are_not() -> None:
    sampling = fleet_pb2.SamplingParams(
        temperature=0.0, max_tokens=12, seed=3, top_k=5, stop=["\n", "END"], ignore_eos=True
    )

    body, _ = grpc_mapping.to_openai_request(chat_request(sampling=sampling))

    # An explicit 0 (greedy) survives; what was not set stays "not given".
    assert body.temperature == 0.0
    assert body.max_completion_tokens == 12
    assert (body.seed, body.top_k, body.stop, body.ignore_eos) == (3, 5, ["\n", "END"], True)
    assert {"top_p", "presence_penalty", "frequency_penalty", "max_tokens"}.isdisjoint(
        body.model_fields_set
    )
    assert body.top_p is None


def test_max_tokens_of_a_prompt_request() -> None:
    request = fleet_pb2.GenerateRequest(
        prompt="x",
        routing=fleet_pb2.RoutingHints(model="beta"),
        sampling=fleet_pb2.SamplingParams(max_tokens=7, top_p=0.5),
    )

    body, _ = grpc_mapping.to_openai_request(request)

    assert (body.max_tokens, body.top_p) == (7, 0.5)


def test_streaming_requests_ask_for_the_usage_chunk() -> None:
    body, _ = grpc_mapping.to_openai_request(chat_request(), stream=True)

    assert body.stream
    assert body.stream_options.include_usage


def test_missing_input_is_rejected() -> None:
    request = fleet_pb2.GenerateRequest(routing=fleet_pb2.RoutingHints(model="alpha"))

    assert invalid(request).param == "input"


def test_empty_messages_are_rejected() -> None:
    request = fleet_pb2.GenerateRequest(routing=fleet_pb2.RoutingHints(model="alpha"))
    request.chat.SetInParent()

    assert invalid(request).param == "chat.messages"


def test_unknown_role_is_rejected_naming_the_message() -> None:
    request = chat_request()
    request.chat.messages.add(role="wizard", content="abracadabra")

    error = invalid(request)

    assert error.param == "chat.messages[2].role"
    assert "wizard" in error.message


def test_empty_prompt_is_rejected() -> None:
    request = fleet_pb2.GenerateRequest(prompt="", routing=fleet_pb2.RoutingHints(model="a"))

    # An empty string in a oneof still selects it: the error is about the prompt.
    assert invalid(request).param == "prompt"


def test_missing_model_is_rejected() -> None:
    request = chat_request()
    request.routing.model = ""

    assert invalid(request).param == "routing.model"


def test_too_many_stop_strings_are_rejected() -> None:
    request = chat_request(sampling=fleet_pb2.SamplingParams(stop=["a", "b", "c", "d", "e"]))

    assert invalid(request).param == "sampling.stop"


@pytest.mark.parametrize(
    ("openai_param", "proto_field"),
    [
        ("max_completion_tokens", "sampling.max_tokens"),
        ("temperature", "sampling.temperature"),
        ("messages", "chat.messages"),
        ("messages.0.content", "chat.messages.0.content"),
        ("model", "routing.model"),
        ("n", "n"),
        (None, None),
    ],
)
def test_proto_param(openai_param: str | None, proto_field: str | None) -> None:
    assert grpc_mapping.proto_param(openai_param) == proto_field


# -- unary responses ----------------------------------------------------------------------


def chat_response(content: str | None, finish_reason: str = "stop") -> ChatCompletionResponse:
    return ChatCompletionResponse(
        id="chatcmpl-req-1",
        model="alpha-v2",
        choices=[
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    )


def test_chat_response_becomes_a_generate_response() -> None:
    response = grpc_mapping.generate_response(
        chat_response("Hello!"), AB_ROUTE, request_id="req-1", time_to_first_token_ms=12.5
    )

    assert response.text == "Hello!"
    assert response.finish_reason == fleet_pb2.FINISH_REASON_STOP
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (5, 7)
    assert response.route == fleet_pb2.RouteInfo(
        model="alpha-v2", route="alpha", variant="b", reason="sticky a/b"
    )
    assert response.time_to_first_token_ms == 12.5
    assert response.request_id == "req-1"


def test_completion_response_and_defaults() -> None:
    completion = CompletionResponse(
        id="cmpl-9",
        model="beta",
        choices=[{"index": 0, "text": " there", "finish_reason": "length"}],
        usage={"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5},
        metrics={"time_to_first_token_ms": 3.25},
    )

    response = grpc_mapping.generate_response(completion, RouteDecision(model="beta"))

    assert response.text == " there"
    assert response.finish_reason == fleet_pb2.FINISH_REASON_LENGTH
    assert response.request_id == "cmpl-9"
    assert response.time_to_first_token_ms == 3.25  # the engine's own measure
    assert response.route.reason == "requested by name"


def test_null_content_and_unmapped_finish_reason() -> None:
    response = grpc_mapping.generate_response(chat_response(None, "tool_calls"), AB_ROUTE)

    assert response.text == ""
    assert response.finish_reason == fleet_pb2.FINISH_REASON_UNSPECIFIED


def test_list_models_response_from_model_cards() -> None:
    cards = [
        {
            "id": "alpha",
            "object": "model",
            "created": 1700000000,
            "owned_by": "llm-fleet",
            "root": "zoo:a",
            "max_model_len": 2048,
            "metadata": {"source": "zoo:a", "description": "tiny qwen2", "aliases": ["chat"]},
        },
        {"id": "beta", "owned_by": "llm-fleet", "max_model_len": None},
        {"id": "alpha:tuned", "root": "/adapters/tuned", "parent": "alpha"},
    ]

    response = grpc_mapping.list_models_response(cards)

    assert response.models[0] == fleet_pb2.ModelInfo(
        id="alpha",
        owned_by="llm-fleet",
        max_model_len=2048,
        source="zoo:a",
        aliases=["chat"],
        created=1700000000,
        description="tiny qwen2",
    )
    assert response.models[1].max_model_len == 0
    assert (response.models[2].parent, response.models[2].source) == ("alpha", "/adapters/tuned")


# -- streams ------------------------------------------------------------------------------


def chat_chunk(content: str | None = None, finish_reason: str | None = None) -> dict:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-req-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


USAGE_CHUNK = {
    "id": "chatcmpl-req-1",
    "object": "chat.completion.chunk",
    "choices": [],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


def test_a_chat_stream_becomes_deltas_then_the_end() -> None:
    translator = grpc_mapping.StreamTranslator(AB_ROUTE, request_id="req-1")
    role_chunk = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    chunks = [role_chunk, chat_chunk("Hel"), chat_chunk("lo", "stop"), USAGE_CHUNK]

    events = [event for chunk in chunks if (event := translator.feed(chunk)) is not None]
    end = translator.end(time_to_first_token_ms=8.0)

    assert [event.delta.text for event in events] == ["Hel", "lo"]
    assert events[0].delta.route.model == "alpha-v2"
    assert not events[1].delta.HasField("route")
    assert translator.deltas_sent == 2
    assert end.WhichOneof("event") == "end"
    assert end.end.finish_reason == fleet_pb2.FINISH_REASON_STOP
    assert (end.end.usage.completion_tokens, end.end.usage.total_tokens) == (2, 7)
    assert end.end.route.variant == "b"
    assert end.end.time_to_first_token_ms == 8.0
    assert end.end.request_id == "req-1"


def test_a_completion_stream_reads_text() -> None:
    translator = grpc_mapping.StreamTranslator(RouteDecision(model="beta"), request_id="r")
    chunk = {
        "object": "text_completion",
        "choices": [{"index": 0, "text": " a", "finish_reason": "length"}],
    }

    event = translator.feed(chunk)

    assert event is not None and event.delta.text == " a"
    assert translator.end().end.finish_reason == fleet_pb2.FINISH_REASON_LENGTH


def test_the_end_without_usage_or_finish_reason_still_closes() -> None:
    end = grpc_mapping.StreamTranslator(AB_ROUTE, request_id="r").end()

    assert end.end.finish_reason == fleet_pb2.FINISH_REASON_UNSPECIFIED
    assert end.end.usage == fleet_pb2.Usage()


def test_chunks_from_coalesced_sse() -> None:
    text = (
        "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in (chat_chunk("a"), chat_chunk("b")))
        + "data: [DONE]\n\n"
    )

    assert [grpc_mapping.chunk_text(chunk) for chunk in grpc_mapping.chunks_from_sse(text)] == [
        "a",
        "b",
    ]


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        (400, InvalidRequestError),
        (429, OverloadedError),
        (503, RetryableError),
        (504, DeadlineExceededError),
        (500, ServerError),
    ],
)
def test_an_in_band_error_event_raises(code: int, error_type: type) -> None:
    event = {"error": {"message": "boom", "type": "x", "param": "temperature", "code": code}}

    with pytest.raises(error_type) as caught:
        grpc_mapping.chunks_from_sse(f"data: {json.dumps(event)}\n\n")

    assert caught.value.message == "boom"
    if code == 400:
        assert caught.value.param == "sampling.temperature"
