"""The caller's deadline (x-fleet-timeout-ms): parsed strictly, enforced from arrival to the
stream's last chunk, and the model call closed (the engine aborts) when it passes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from services.client.base import TIMEOUT_METADATA, with_timeout
from services.errors import DeadlineExceededError, InvalidRequestError
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.deadlines import TIMEOUT_HEADER, parse_timeout_ms
from services.router.requests import ChatCompletionRequest, Endpoint, OpenAIRequest
from services.router.types import RoutingHints
from tests.unit.router.fakes import chat_response

CATALOG = ModelCatalog([ServedModel("alpha", "zoo:a")])


class PacedBackend:
    """Yields its items `pause_s` apart (the first one too) and counts calls closed early."""

    def __init__(self, items: list[Any], pause_s: float) -> None:
        self.items = items
        self.pause_s = pause_s
        self.closed_early = 0

    async def call(
        self, model: str, endpoint: Endpoint, request: OpenAIRequest
    ) -> AsyncGenerator[Any, None]:
        finished = False
        try:
            for item in self.items:
                await asyncio.sleep(self.pause_s)
                yield item
            finished = True
        finally:
            if not finished:
                self.closed_early += 1


def chat(stream: bool = False) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="alpha", messages=[{"role": "user", "content": "hi"}], stream=stream
    )


def sse(index: int) -> str:
    return f'data: {{"n": {index}}}\n\n'


@pytest.mark.parametrize(("value", "seconds"), [(None, None), ("250", 0.25), (" 1 ", 0.001)])
def test_timeouts_are_whole_milliseconds(value: str | None, seconds: float | None) -> None:
    assert parse_timeout_ms(value) == seconds


@pytest.mark.parametrize("value", ["", "0", "-5", "1.5", "soon", "99999999999", "١٢"])
def test_a_malformed_timeout_is_the_callers_error_naming_the_header(value: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_timeout_ms(value)
    assert caught.value.param == TIMEOUT_HEADER


async def test_a_unary_call_past_its_deadline_is_closed_and_reported() -> None:
    backend = PacedBackend([chat_response("late")], pause_s=5)
    hints = RoutingHints(model="alpha", timeout_s=0.05)
    with pytest.raises(DeadlineExceededError):
        await Router(CATALOG, backend).generate(chat(), hints)
    assert backend.closed_early == 1


async def test_a_stream_past_its_deadline_ends_with_the_error_and_closes_the_call() -> None:
    backend = PacedBackend([sse(i) for i in range(100)], pause_s=0.02)
    hints = RoutingHints(model="alpha", timeout_s=0.2)
    stream = await Router(CATALOG, backend).generate_stream(chat(stream=True), hints)
    received = []
    with pytest.raises(DeadlineExceededError):
        async for chunk in stream.chunks:
            received.append(chunk)
    assert 1 < len(received) < 100
    assert backend.closed_early == 1


async def test_a_stream_within_its_deadline_is_untouched() -> None:
    backend = PacedBackend([sse(i) for i in range(3)], pause_s=0)
    hints = RoutingHints(model="alpha", timeout_s=5)
    stream = await Router(CATALOG, backend).generate_stream(chat(stream=True), hints)
    chunks = [chunk async for chunk in stream.chunks]
    assert chunks[-1] == "data: [DONE]\n\n"
    assert backend.closed_early == 0


def test_the_client_sends_each_attempts_deadline_as_metadata() -> None:
    base = (("authorization", "Bearer k"),)
    assert with_timeout(base, None) == base
    assert with_timeout(base, 0.0001) == (*base, (TIMEOUT_METADATA, "1"))
    assert with_timeout(base, 2.5)[-1] == (TIMEOUT_METADATA, "2500")
    assert parse_timeout_ms(with_timeout((), 10**9)[-1][1]) == 86_400
