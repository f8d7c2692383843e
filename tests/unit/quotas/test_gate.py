"""Quotas on the request path: the gate, leases, and the router settling them."""

from __future__ import annotations

import json

import pytest

from services.auth.access import Caller
from services.auth.config import TenantPolicy
from services.errors import QuotaExceededError
from services.quotas.config import QuotaConfig
from services.quotas.gate import QuotaGate
from services.quotas.ledger import QuotaLedger, Refusal
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.requests import ChatCompletionRequest
from services.router.types import RoutingHints
from tests.unit.router.fakes import ScriptedBackend, chat_response

LIMITS = QuotaConfig(requests_per_minute=5, concurrent_streams=1)
CALLER = Caller(tenant="acme", policy=TenantPolicy(quotas=LIMITS))
CATALOG = ModelCatalog([ServedModel("alpha", "zoo:a", max_model_len=64)])


class LedgerKeeper:
    """The keeper's calls straight on a ledger, recording settlements."""

    def __init__(self) -> None:
        self.ledger = QuotaLedger()
        self.settled: list[int] = []
        self.admits = 0

    async def admit(self, tenant: str, quotas: QuotaConfig, lease_id: str) -> Refusal | None:
        self.admits += 1
        return self.ledger.admit(tenant, quotas, lease_id)

    def settle(self, tenant: str, lease_id: str, tokens: int) -> None:
        self.settled.append(tokens)
        self.ledger.settle(tenant, lease_id, tokens)


class DownKeeper:
    async def admit(self, tenant: str, quotas: QuotaConfig, lease_id: str) -> Refusal | None:
        raise ConnectionError("actor restarting")

    def settle(self, tenant: str, lease_id: str, tokens: int) -> None:
        raise ConnectionError("actor restarting")


def chat() -> ChatCompletionRequest:
    return ChatCompletionRequest(model="alpha", messages=[{"role": "user", "content": "hi"}])


def stream_script(completion_tokens: int) -> list[str]:
    usage = {"prompt_tokens": 3, "completion_tokens": completion_tokens}
    return [
        'data: {"id": "r", "choices": [{"index": 0, "delta": {"content": "x"}}]}\n\n',
        f"data: {json.dumps({'id': 'r', 'choices': [], 'usage': usage})}\n\n",
    ]


async def test_tenants_without_quotas_never_reach_the_keeper() -> None:
    keeper = LedgerKeeper()
    gate = QuotaGate(keeper)
    await gate.admit("acme", QuotaConfig())
    await gate.admit(None, LIMITS)
    assert keeper.admits == 0


async def test_a_refusal_is_quota_exceeded_with_its_retry_time() -> None:
    gate = QuotaGate(LedgerKeeper())
    lease = await gate.admit("acme", LIMITS)
    with pytest.raises(QuotaExceededError) as caught:
        await gate.admit("acme", LIMITS)
    assert caught.value.limit == "concurrent_streams"
    assert caught.value.http_status == 429 and caught.value.retry_after_header == "1"
    lease.settle()
    lease.settle()  # once only: a second settle would free someone else's slot
    await gate.admit("acme", LIMITS)


async def test_an_unreachable_keeper_admits() -> None:
    lease = await QuotaGate(DownKeeper()).admit("acme", LIMITS)
    lease.settle(10)  # logged, not raised


async def test_a_unary_answer_settles_its_tokens() -> None:
    keeper = LedgerKeeper()
    router = Router(
        CATALOG, ScriptedBackend({"alpha": [chat_response("a")]}), quotas=QuotaGate(keeper)
    )
    await router.generate(chat(), RoutingHints(model="alpha"), caller=CALLER)
    assert keeper.settled == [2]
    assert keeper.ledger.snapshot("acme")["in_flight"] == 0


async def test_a_stream_holds_its_slot_until_it_ends_then_settles_its_tokens() -> None:
    keeper = LedgerKeeper()
    backend = ScriptedBackend({"alpha": stream_script(completion_tokens=4)})
    router = Router(CATALOG, backend, quotas=QuotaGate(keeper))
    request = chat().model_copy(update={"stream": True})
    stream = await router.generate_stream(request, RoutingHints(model="alpha"), caller=CALLER)
    with pytest.raises(QuotaExceededError):
        await router.generate_stream(request, RoutingHints(model="alpha"), caller=CALLER)
    assert len(backend.calls) == 1  # refused before any model call
    async for _ in stream.chunks:
        pass
    assert keeper.settled == [7]
    assert keeper.ledger.snapshot("acme")["in_flight"] == 0


async def test_a_stream_closed_before_it_started_frees_its_slot() -> None:
    keeper = LedgerKeeper()
    router = Router(CATALOG, ScriptedBackend({"alpha": stream_script(4)}), quotas=QuotaGate(keeper))
    request = chat().model_copy(update={"stream": True})
    stream = await router.generate_stream(request, RoutingHints(model="alpha"), caller=CALLER)
    await stream.chunks.aclose()
    assert keeper.ledger.snapshot("acme")["in_flight"] == 0


async def test_a_failed_request_frees_its_slot() -> None:
    keeper = LedgerKeeper()
    backend = ScriptedBackend({"alpha": [RuntimeError("engine died")]})
    router = Router(CATALOG, backend, quotas=QuotaGate(keeper))
    with pytest.raises(Exception):  # noqa: B017 - whatever the engine's failure maps to
        await router.generate(chat(), RoutingHints(model="alpha"), caller=CALLER)
    assert keeper.settled == [0]
    assert keeper.ledger.snapshot("acme")["in_flight"] == 0
