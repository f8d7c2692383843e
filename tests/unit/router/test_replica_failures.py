"""A replica lost under a request: retried on the same model while nothing was sent, then
the route's fallbacks; once the answer has started, ended in-band and never retried."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from services.errors import (
    InvalidRequestError,
    ReplicaLostError,
    RequestFailedError,
    StreamInterruptedError,
)
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.engine_errors import split_at_error
from services.router.requests import ChatCompletionRequest, Endpoint, OpenAIRequest
from services.router.types import RoutingHints
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable
from tests.unit.router.fakes import ROUTED, chat_response

CATALOG = ModelCatalog([ServedModel("alpha", "zoo:a"), ServedModel("beta", "zoo:b")])
LOST = ReplicaLostError("model 'alpha' is unavailable (ActorDiedError)")


class CallScripts:
    """Each call to a model plays that model's next script (the last one repeats)."""

    def __init__(self, scripts: dict[str, list[list[Any]]]) -> None:
        self.scripts = scripts
        self.calls: list[str] = []

    async def call(
        self, model: str, endpoint: Endpoint, request: OpenAIRequest
    ) -> AsyncGenerator[Any, None]:
        played = sum(called == model for called in self.calls)
        self.calls.append(model)
        script = self.scripts[model][min(played, len(self.scripts[model]) - 1)]
        for item in script:
            if isinstance(item, Exception):
                raise item
            yield item


def chat(model: str = "alpha", stream: bool = False) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model=model, messages=[{"role": "user", "content": "hi"}], stream=stream
    )


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.router.fallback_chain.REPLICA_RETRY_BACKOFF_S", 0)


async def test_a_replica_lost_before_answering_is_retried_on_the_same_model() -> None:
    backend = CallScripts({"alpha": [[LOST], [chat_response("second replica")]]})
    result = await Router(CATALOG, backend).generate(chat(), RoutingHints(model="alpha"))
    assert backend.calls == ["alpha", "alpha"]
    assert result.body.choices[0].message.content == "second replica"
    assert result.decision.model == "alpha"


async def test_when_retries_run_out_the_routes_fallback_answers() -> None:
    backend = CallScripts({"alpha": [[LOST]], "beta": [[chat_response("fallback")]]})
    result = await Router(CATALOG, backend, routing=ROUTED).generate(
        chat("chat"), RoutingHints(model="chat")
    )
    assert backend.calls == ["alpha", "alpha", "alpha", "beta"]
    assert result.decision.model == "beta"
    assert "ReplicaLostError" in result.decision.reason


async def test_a_request_the_model_fails_on_is_neither_retried_nor_held_against_it() -> None:
    failed = RequestFailedError("model 'alpha' failed on this request (TypeError)")
    backend = CallScripts({"alpha": [[failed]], "beta": [[chat_response("fallback")]]})
    router = Router(CATALOG, backend, routing=ROUTED)
    for _ in range(10):
        with pytest.raises(RequestFailedError):
            await router.generate(chat("chat"), RoutingHints(model="chat"))
    assert set(backend.calls) == {"alpha"}
    assert len(backend.calls) == 10
    assert router.open_circuits == {}


async def test_retries_are_configurable_down_to_none() -> None:
    table = RoutingTable(RoutingConfig.model_validate({"replica_retries": 0}))
    backend = CallScripts({"alpha": [[LOST], [chat_response("never")]]})
    with pytest.raises(ReplicaLostError):
        await Router(CATALOG, backend, routing=table).generate(chat(), RoutingHints(model="alpha"))
    assert backend.calls == ["alpha"]


async def test_a_stream_cut_after_it_started_ends_with_the_error_and_is_not_retried() -> None:
    cut = StreamInterruptedError("model 'alpha' failed mid-answer (ActorDiedError)")
    first = 'data: {"choices": [{"index": 0, "text": "a"}]}\n\n'
    backend = CallScripts({"alpha": [[first, cut]], "beta": [[first]]})
    stream = await Router(CATALOG, backend, routing=ROUTED).generate_stream(
        chat("chat", stream=True), RoutingHints(model="chat")
    )
    received = []
    with pytest.raises(StreamInterruptedError) as caught:
        async for chunk in stream.chunks:
            received.append(chunk)
    assert received == [first]
    assert backend.calls == ["alpha"]
    assert caught.value.details() == {"finish_reason": "abort"}


# What vLLM sends once its engine core process is gone: an error event, not an exception.
ENGINE_DEAD = (
    'data: {"error": {"message": "EngineCore encountered an issue. See stack trace (above) '
    'for the root cause.", "type": "InternalServerError", "param": null, "code": 500}}\n\n'
)
TOKEN = 'data: {"choices": [{"index": 0, "text": "a"}]}\n\n'


async def test_an_engine_dead_before_answering_is_retried_on_another_replica() -> None:
    backend = CallScripts({"alpha": [[ENGINE_DEAD], [TOKEN]]})
    stream = await Router(CATALOG, backend).generate_stream(
        chat(stream=True), RoutingHints(model="alpha")
    )
    assert [chunk async for chunk in stream.chunks] == [TOKEN, "data: [DONE]\n\n"]
    assert backend.calls == ["alpha", "alpha"]


async def test_an_engine_dying_mid_answer_interrupts_the_stream_after_the_text_before_it() -> None:
    backend = CallScripts({"alpha": [[TOKEN, [TOKEN, ENGINE_DEAD]]]})
    stream = await Router(CATALOG, backend).generate_stream(
        chat(stream=True), RoutingHints(model="alpha")
    )
    received = []
    with pytest.raises(StreamInterruptedError) as caught:
        async for chunk in stream.chunks:
            received.append(chunk)
    assert received == [TOKEN, TOKEN]
    assert "EngineCore encountered an issue" in caught.value.message
    assert backend.calls == ["alpha"]


async def test_a_client_error_mid_stream_keeps_its_own_class() -> None:
    bad = 'data: {"error": {"message": "bad stop", "type": "BadRequestError", "code": 400}}\n\n'
    backend = CallScripts({"alpha": [[TOKEN, bad]]})
    stream = await Router(CATALOG, backend).generate_stream(
        chat(stream=True), RoutingHints(model="alpha")
    )
    with pytest.raises(InvalidRequestError):
        async for _ in stream.chunks:
            pass


def test_text_that_mentions_an_error_is_not_one() -> None:
    text = 'data: {"choices": [{"index": 0, "text": "{\\"error\\": 1}"}]}\n\n'
    assert split_at_error(text) == (text, None)
