"""Requests the fuzz tests (tests/integration/test_fuzz_*.py) found answered with a 5xx:
each is now a client error naming what is wrong, over HTTP and gRPC alike."""

from __future__ import annotations

import pickle

import pytest
from vllm.exceptions import VLLMValidationError

from services.errors import InvalidRequestError
from services.router.requests import ChatCompletionRequest
from services.router.validation import refused_by_validator, validate_integers
from services.telemetry.metrics import RequestRecord
from tests.unit.api.test_http_handlers import BODY, make_client
from tests.unit.router.fakes import ScriptedBackend, chat_response


def post(body: bytes | dict) -> tuple[int, dict]:
    client = make_client(ScriptedBackend({"alpha": [chat_response("hello")]}))
    if isinstance(body, bytes):
        response = client.post("/v1/chat/completions", content=body)
    else:
        response = client.post("/v1/chat/completions", json=body)
    return response.status_code, response.json()["error"] if response.status_code >= 400 else {}


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_400(depth: int) -> None:
    status, error = post(b"[" * depth + b"]" * depth)
    assert status == 400
    assert error["type"] == "invalid_request_error"
    assert "nested too deeply" in error["message"] or "JSON object" in error["message"]


def test_deeply_nested_field_is_a_400() -> None:
    nested = "[" * 100_000 + "]" * 100_000
    body = f'{{"model": "alpha", "messages": {nested}}}'.encode()
    status, error = post(body)
    assert status == 400
    assert "nested too deeply" in error["message"]


def test_a_vllm_validator_error_is_a_400_naming_its_parameter() -> None:
    status, error = post({**BODY, "stream_options": {"include_usage": True}})
    assert status == 400
    assert error["param"] == "stream_options"
    assert "stream" in error["message"]


def test_a_wrong_shape_a_validator_trips_on_is_a_400() -> None:
    # vLLM's structured-outputs validator calls .get on it: AttributeError before the fix.
    status, error = post({**BODY, "structured_outputs": [1, 2]})
    assert status == 400
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("top_k", 2**64),
        ("min_tokens", -(2**63) - 1),
        ("stop_token_ids", [1, 2**70]),
        ("logit_bias", {str(2**70): 1}),
    ],
)
def test_an_integer_beyond_64_bits_is_a_400_naming_the_field(field: str, value: object) -> None:
    status, error = post({**BODY, "max_tokens": 2, field: value})
    assert status == 400
    assert error["param"] == field


def test_a_message_in_vllm_internal_shape_is_a_400() -> None:
    # It validates as vLLM's harmony ``Message``, which its chat renderer fails on.
    message = {"author": {"role": "user"}, "content": [{"type": "text", "text": "hi"}]}
    status, error = post({"model": "alpha", "messages": [message]})
    assert status == 400
    assert error["param"] == "messages.0"


@pytest.mark.parametrize(
    ("content", "param_prefix"),
    [
        ({"a": 1}, "messages.0.content.0"),
        ([None, "x"], "messages.0.content.0"),
        ([{"type": "text", "text": "hi"}, 5], "messages.0.content.1"),
    ],
)
def test_content_parts_of_the_wrong_shape_are_a_400_naming_the_part(
    content: object, param_prefix: str
) -> None:
    # pydantic validates Iterable content only as it is read; unread, it failed to pickle
    # on its way to the replica, which counted as a lost replica.
    status, error = post({"model": "alpha", "messages": [{"role": "user", "content": content}]})
    assert status == 400
    assert error["param"].startswith(param_prefix)


def test_content_parts_reach_the_model_as_a_list_that_pickles() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("hello")]})
    parts = [{"type": "text", "text": "hi"}]
    body = {"model": "alpha", "messages": [{"role": "user", "content": parts}]}
    assert make_client(backend).post("/v1/chat/completions", json=body).status_code == 200
    sent = backend.calls[0][2]
    assert sent.messages[0]["content"] == parts
    pickle.dumps(sent)


def test_validate_integers_accepts_64_bit_values() -> None:
    request = ChatCompletionRequest.model_validate({**BODY, "seed": 2**63 - 1, "top_k": 2**64 - 1})
    validate_integers(request)
    with pytest.raises(InvalidRequestError):
        validate_integers(ChatCompletionRequest.model_validate({**BODY, "top_k": 2**64}))


def test_refused_by_validator_keeps_vllm_parameter_and_hides_internals() -> None:
    error = refused_by_validator(VLLMValidationError("bad n", parameter="n", value=99))
    assert (error.message, error.param) == ("bad n", "n")
    internal = refused_by_validator(AttributeError("'list' object has no attribute 'get'"))
    assert "list" not in internal.message
    assert internal.param is None


def test_metric_labels_of_a_named_model_are_ascii() -> None:
    record = RequestRecord(
        transport="http",
        endpoint="chat",
        model="mod\u00e8le-\U0001f600",
        route="",
        variant="",
        status="model_not_found",
        duration_s=0.1,
    )
    labels = record.arm()
    assert all(value.isascii() for value in labels.values())
    assert labels["model"].startswith("mod")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            b'{"model": "alpha", "messages": [{"role": "user", "content": "hi"}], '
            b'"stop": ["\\ud800"]}',
            "stop",
        ),
        (b'{"model": "alpha", "messages": [{"role": "user", "content": "a\\uDFFFb"}]}', "messages"),
        (
            b'{"model": "alpha", "messages": [{"role": "user", "content": "hi"}], "\\ud800": 1}',
            None,
        ),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_the_field(body: bytes, param: str | None) -> None:
    status, error = post(body)
    assert status == 400
    assert error["param"] == param
    assert "lone surrogate" in error["message"]


def test_a_surrogate_encoded_as_utf8_bytes_is_a_400() -> None:
    # json.loads(bytes) decodes with "surrogatepass": the model name became unencodable text.
    body = b'{"model": "a\xed\xbf\xbfb", "messages": [{"role": "user", "content": "hi"}]}'
    status, error = post(body)
    assert status == 400
    assert "UTF-8" in error["message"]


def test_a_surrogate_pair_is_text() -> None:
    body = b'{"model": "alpha", "messages": [{"role": "user", "content": "\\ud83d\\ude00"}]}'
    assert post(body)[0] == 200
