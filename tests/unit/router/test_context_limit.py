"""A tenant's context limit (prompt plus generation) on the router's path: counted with the
routed model's tokenizer, decided before any model works, the room left granted."""

from __future__ import annotations

import pytest

from services.auth.access import Caller
from services.auth.config import TenantPolicy
from services.errors import PermissionDeniedError, ServerError
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.requests import ChatCompletionRequest
from services.router.types import RequestFacts, RoutingHints
from tests.unit.router.fakes import ScriptedBackend, chat_response

CATALOG = ModelCatalog([ServedModel("alpha", "a")])
BOUNDED = Caller(tenant="acme", policy=TenantPolicy(max_context_tokens=100))


class WordCounter:
    """Counts words as tokens, and records which model's tokenizer was asked."""

    def __init__(self) -> None:
        self.models: list[str] = []

    async def count(self, model: str, facts: RequestFacts) -> int:
        self.models.append(model)
        return sum(len(str(message.get("content", "")).split()) for message in facts.messages)


def chat(words: int, **params: object) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": " ".join(["word"] * words)}]
    return ChatCompletionRequest(model="alpha", messages=messages, **params)


async def test_a_request_that_fits_gets_the_room_left_as_its_limit() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    counter = WordCounter()
    router = Router(CATALOG, backend, token_counter=counter)

    await router.generate(chat(70), RoutingHints("alpha"), caller=BOUNDED)

    assert counter.models == ["alpha"]
    assert vars(backend.calls[0][2])["max_tokens"] == 30


async def test_a_request_over_the_limit_never_reaches_a_model() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    router = Router(CATALOG, backend, token_counter=WordCounter())

    with pytest.raises(PermissionDeniedError) as caught:
        await router.generate(chat(70, max_tokens=31), RoutingHints("alpha"), caller=BOUNDED)

    assert caught.value.param == "max_tokens"
    assert backend.calls == []


async def test_without_a_counter_a_bounded_tenant_is_refused_not_let_through() -> None:
    router = Router(CATALOG, ScriptedBackend({"alpha": [chat_response("ok")]}))
    with pytest.raises(ServerError):
        await router.generate(chat(1), RoutingHints("alpha"), caller=BOUNDED)
