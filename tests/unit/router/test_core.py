import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from services.auth.access import OPEN_CALLER, Caller
from services.auth.config import TenantPolicy
from services.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    OverloadedError,
    RetryableError,
    ServerError,
)
from services.router.breaker import CircuitBreakerConfig
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.requests import (
    ChatCompletionRequest,
    CompletionRequest,
    Endpoint,
    ErrorResponse,
    OpenAIRequest,
)
from services.router.types import RoutingHints
from services.routing.config import RoutingConfig
from services.routing.shadow_config import ShadowConfig
from services.routing.table import RoutingTable
from tests.unit.router.fakes import ROUTED, ScriptedBackend, chat_response

CATALOG = ModelCatalog([ServedModel("alpha", "zoo:a", max_model_len=64), ServedModel("beta", "b")])


def chat(model: str = "alpha", **params: object) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": "hi"}]
    return ChatCompletionRequest(model=model, messages=messages, **params)


def engine_error(code: int, message: str) -> ErrorResponse:
    return ErrorResponse(error={"message": message, "type": "BadRequestError", "code": code})


def sse(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\n\n"


async def test_unary_request_goes_to_the_named_model() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("hello")]})
    result = await Router(CATALOG, backend).generate(chat(), RoutingHints(model="alpha"))
    assert result.decision.model == "alpha"
    assert result.body.choices[0].message.content == "hello"
    model, endpoint, sent = backend.calls[0]
    assert (model, endpoint, sent.stream) == ("alpha", "chat", False)


async def test_completion_request_uses_the_completions_endpoint() -> None:
    backend = ScriptedBackend({"beta": [chat_response("x")]})
    request = CompletionRequest(model="beta", prompt="hi")
    await Router(CATALOG, backend).generate(request, RoutingHints(model="beta"))
    assert backend.calls[0][1] == "completions"


async def test_unknown_model_lists_served_ones() -> None:
    router = Router(CATALOG, ScriptedBackend({}))
    with pytest.raises(ModelNotFoundError) as caught:
        await router.generate(chat("gamma"), RoutingHints(model="gamma"))
    assert caught.value.available == ["alpha", "beta"]
    assert "alpha, beta" in caught.value.message


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": -0.5}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"n": 0}, "n"),
        ({"max_tokens": 65}, "max_tokens"),
    ],
)
async def test_out_of_range_parameters_name_the_field(params: dict, field: str) -> None:
    backend = ScriptedBackend({"alpha": [chat_response("never")]})
    with pytest.raises(InvalidRequestError) as caught:
        await Router(CATALOG, backend).generate(chat(**params), RoutingHints(model="alpha"))
    assert caught.value.param == field
    assert backend.calls == []


async def test_engine_context_error_becomes_invalid_request_on_the_input_field() -> None:
    error = engine_error(400, "This model's maximum context length is 64 tokens.")
    router = Router(CATALOG, ScriptedBackend({"alpha": [error]}))
    with pytest.raises(InvalidRequestError) as caught:
        await router.generate(chat(), RoutingHints(model="alpha"))
    assert caught.value.param == "messages"


@pytest.mark.parametrize(("code", "kind"), [(429, OverloadedError), (500, ServerError)])
async def test_engine_errors_map_to_our_tree(code: int, kind: type) -> None:
    router = Router(CATALOG, ScriptedBackend({"alpha": [engine_error(code, "boom")]}))
    with pytest.raises(kind):
        await router.generate(chat(), RoutingHints(model="alpha"))


async def test_stream_status_is_decided_before_the_first_chunk() -> None:
    error = engine_error(400, "bad")
    router = Router(CATALOG, ScriptedBackend({"alpha": [[error]]}))
    with pytest.raises(InvalidRequestError):
        await router.generate_stream(chat(stream=True), RoutingHints(model="alpha"))


async def test_stream_flattens_batches_and_ends_with_done() -> None:
    first, second = sse({"n": 1}), sse({"n": 2})
    backend = ScriptedBackend({"alpha": [[first, second], sse({"n": 3})]})
    stream = await Router(CATALOG, backend).generate_stream(chat(), RoutingHints(model="alpha"))
    chunks = [chunk async for chunk in stream.chunks]
    assert chunks == [first + second, sse({"n": 3}), "data: [DONE]\n\n"]
    assert backend.calls[0][2].stream is True


async def test_closing_a_stream_early_closes_the_model_call() -> None:
    backend = ScriptedBackend({"alpha": [sse({"n": i}) for i in range(5)]})
    stream = await Router(CATALOG, backend).generate_stream(chat(), RoutingHints(model="alpha"))
    await anext(stream.chunks)
    await stream.chunks.aclose()
    assert backend.closed_early == 1


def test_errors_survive_pickling_between_processes() -> None:
    import pickle

    error = ModelNotFoundError("gamma", ["beta", "alpha"])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ModelNotFoundError
    assert (copy.message, copy.param, copy.available) == (error.message, "model", ["alpha", "beta"])
    field_error = pickle.loads(pickle.dumps(InvalidRequestError("bad", param="top_p")))
    assert field_error.param == "top_p"


async def test_engine_input_param_is_renamed_to_the_callers_field() -> None:
    error = ErrorResponse(
        error={
            "message": "too many tokens",
            "type": "BadRequestError",
            "code": 400,
            "param": "input_text",
        }
    )
    request = CompletionRequest(model="alpha", prompt="hi")
    router = Router(CATALOG, ScriptedBackend({"alpha": [error]}))
    with pytest.raises(InvalidRequestError) as caught:
        await router.generate(request, RoutingHints(model="alpha"))
    assert caught.value.param == "prompt"


async def test_alias_routes_to_its_variant_and_reports_it() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("hi")]})
    router = Router(CATALOG, backend, routing=ROUTED)
    result = await router.generate(chat("chat"), RoutingHints(model="chat", routing_key="u1"))
    assert (result.decision.model, result.decision.route, result.decision.variant) == (
        "alpha",
        "chat",
        "only",
    )
    assert backend.calls[0][2].model == "alpha"


async def test_fallback_takes_over_when_the_model_fails_before_its_first_item() -> None:
    backend = ScriptedBackend(
        {"alpha": [RetryableError("replica gone")], "beta": [chat_response("from beta")]}
    )
    router = Router(CATALOG, backend, routing=ROUTED)
    result = await router.generate(chat("chat"), RoutingHints(model="chat"))
    assert result.decision.model == "beta"
    assert result.decision.variant == "only"
    assert "fallback after alpha" in result.decision.reason


async def test_client_errors_do_not_fall_back() -> None:
    backend = ScriptedBackend({"alpha": [engine_error(400, "bad")], "beta": [chat_response("x")]})
    router = Router(CATALOG, backend, routing=ROUTED)
    with pytest.raises(InvalidRequestError):
        await router.generate(chat("chat"), RoutingHints(model="chat"))
    assert [call[0] for call in backend.calls] == ["alpha"]


async def test_the_last_failure_is_raised_when_every_model_fails() -> None:
    backend = ScriptedBackend({"alpha": [OverloadedError("full")], "beta": [ServerError("down")]})
    router = Router(CATALOG, backend, routing=ROUTED)
    with pytest.raises(ServerError, match="down"):
        await router.generate(chat("chat"), RoutingHints(model="chat"))


async def test_unknown_name_lists_models_and_aliases() -> None:
    router = Router(CATALOG, ScriptedBackend({}), routing=ROUTED)
    with pytest.raises(ModelNotFoundError, match="alpha, beta, chat"):
        await router.route(RoutingHints(model="nope"), chat("nope"))


RULES = RoutingTable(
    RoutingConfig.model_validate(
        {
            "routes": [
                {
                    "name": "smart",
                    "kind": "rules",
                    "rules": [
                        {"name": "tooling", "model": "beta", "match": {"features": ["tools"]}},
                        {"name": "gold", "model": "beta", "match": {"tenants": ["gold"]}},
                    ],
                    "default": "alpha",
                }
            ]
        }
    )
)
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("params", "tenant", "variant"),
    [({"tools": TOOLS}, None, "tooling"), ({}, "gold", "gold"), ({}, "silver", "default")],
)
async def test_rules_route_decides_on_the_request_body_and_the_callers_tenant(
    params: dict, tenant: str | None, variant: str
) -> None:
    backend = ScriptedBackend({"alpha": [chat_response("a")], "beta": [chat_response("b")]})
    router = Router(CATALOG, backend, routing=RULES)
    # The hints' own tenant is a claim: the router routes on the caller's proven one.
    hints = RoutingHints(model="smart", tenant="gold" if tenant != "gold" else "claimed")
    caller = Caller(tenant=tenant, policy=TenantPolicy())
    result = await router.generate(chat("smart", **params), hints, caller=caller)
    assert result.decision.variant == variant
    assert backend.calls[0][0] == result.decision.model


# The ROUTED route with a full shadow, and circuits that open after two failures.
BREAKING = RoutingTable(
    ROUTED.config.model_copy(
        update={
            "routes": [
                ROUTED.config.routes[0].model_copy(
                    update={"shadow": ShadowConfig(model="beta", fraction=1.0)}
                )
            ],
            "circuit_breaker": CircuitBreakerConfig(failure_threshold=2, cooldown_s=60),
        }
    )
)


async def test_a_failing_model_is_skipped_once_its_circuit_opens() -> None:
    backend = ScriptedBackend(
        {"alpha": [RetryableError("replica gone")], "beta": [chat_response("from beta")]}
    )
    router = Router(CATALOG, backend, routing=ROUTED)
    router.reconfigure(CATALOG, BREAKING)
    reasons = [
        (await router.generate(chat("chat"), RoutingHints(model="chat"))).decision.reason
        for _ in range(3)
    ]
    assert reasons[0] == reasons[1] == "fallback after alpha (RetryableError)"
    assert reasons[2] == "fallback after alpha (circuit open)"
    assert router.open_circuits == {"alpha": pytest.approx(60, abs=1)}
    assert [call[0] for call in backend.calls].count("alpha") == 2


async def test_overload_does_not_open_a_circuit() -> None:
    backend = ScriptedBackend({"alpha": [OverloadedError("full")], "beta": [chat_response("b")]})
    router = Router(CATALOG, backend, routing=BREAKING)
    for _ in range(3):
        await router.generate(chat("chat"), RoutingHints(model="chat"))
    assert router.open_circuits == {}


async def test_every_circuit_open_fails_fast_as_retryable() -> None:
    backend = ScriptedBackend({"alpha": [RetryableError("gone")], "beta": [RetryableError("gone")]})
    router = Router(CATALOG, backend, routing=BREAKING)
    for _ in range(2):
        with pytest.raises(RetryableError, match="gone"):
            await router.generate(chat("chat"), RoutingHints(model="chat"))
    await router.drain_shadows()
    calls_before = len(backend.calls)
    with pytest.raises(RetryableError, match="circuit open"):
        await router.generate(chat("chat"), RoutingHints(model="chat"))
    await router.drain_shadows()
    # Only the shadow copy reached a model; the request itself tried none.
    assert len(backend.calls) - calls_before == 1


async def test_shadow_copy_does_not_change_the_answer_and_counts_are_kept() -> None:
    backend = ScriptedBackend(
        {"alpha": [chat_response("primary")], "beta": [chat_response("shadow", model="beta")]}
    )
    router = Router(CATALOG, backend, routing=BREAKING)
    result = await router.generate(chat("chat"), RoutingHints(model="chat"))
    await router.drain_shadows()
    assert result.body.choices[0].message.content == "primary"
    stats = router.stats.snapshot()
    assert stats["routes"] == [
        {
            "route": "chat",
            "variant": "only",
            "model": "alpha",
            "requests": 1,
            "fallbacks": 0,
            "failures": 0,
        }
    ]
    assert stats["shadows"][0]["model"] == "beta"
    assert stats["shadows"][0]["requests"] == 1


async def test_a_model_silent_past_the_first_token_timeout_falls_back() -> None:
    class SilentFirst(ScriptedBackend):
        async def call(
            self, model: str, endpoint: Endpoint, request: OpenAIRequest
        ) -> AsyncGenerator[Any, None]:
            if model == "alpha":
                self.calls.append((model, endpoint, request))
                await asyncio.sleep(3600)
            async for item in super().call(model, endpoint, request):
                yield item

    config = ROUTED.config.model_copy(update={"first_token_timeout_s": 0.05})
    router = Router(
        CATALOG, SilentFirst({"beta": [chat_response("b")]}), routing=RoutingTable(config)
    )
    result = await router.generate(chat("chat"), RoutingHints(model="chat"))
    assert result.decision.model == "beta"
    assert result.decision.reason == "fallback after alpha (RetryableError)"


def test_model_cards_list_models_with_their_aliases_then_routes() -> None:
    cards = Router(CATALOG, ScriptedBackend({}), routing=ROUTED).model_cards(OPEN_CALLER)
    assert [card["id"] for card in cards] == ["alpha", "beta", "chat"]
    assert cards[0]["metadata"]["aliases"] == ["chat"]
    # A fallback is not an alias: "chat" never picks beta first.
    assert cards[1]["metadata"]["aliases"] == []
    assert cards[2]["metadata"]["route"] == "split"
