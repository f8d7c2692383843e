"""Calls sent to a replica that died are abandoned with a clear, retryable error."""

import asyncio
from typing import Any

import pytest
from ray.exceptions import ActorDiedError, RayTaskError
from ray.serve.exceptions import RequestCancelledError
from vllm.v1.engine.exceptions import EngineDeadError

from services.errors import (
    ReplicaLostError,
    RequestFailedError,
    RetryableError,
    StreamInterruptedError,
)
from services.router.backend import ModelLocation, ServeHandleBackend
from tests.unit.router.test_core import chat


class _HangingResponse:
    """What a Serve handle returns for a call that went to a dead replica: nothing, ever,
    until cancelled."""

    def __init__(self) -> None:
        self._cancelled = asyncio.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def __aiter__(self) -> "_HangingResponse":
        return self

    async def __anext__(self) -> Any:
        await self._cancelled.wait()
        raise RequestCancelledError("r1")


class _Method:
    def remote(self, request: object) -> _HangingResponse:
        return _HangingResponse()


class _Handle:
    chat = _Method()


async def test_abandoned_calls_fail_with_the_reason_and_are_no_longer_counted() -> None:
    backend = ServeHandleBackend(lambda model: ModelLocation("model-alpha", "model-alpha"))
    backend._handle = lambda model: _Handle()  # type: ignore[method-assign]

    async def first_item() -> Any:
        return await anext(backend.call("alpha", "chat", chat()))

    calls = [asyncio.create_task(first_item()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert backend.in_flight["alpha"] == 3
    assert backend.abandon("alpha", "no running replica: node n1 is down") == 3
    for call in calls:
        with pytest.raises(RetryableError, match="alpha' is unavailable: no running replica"):
            await call
    assert backend.in_flight == {}
    assert backend.abandon("alpha", "again") == 0


class _DiesAfter:
    """A response whose replica dies (or raises ``error``) after ``items`` items."""

    def __init__(self, items: int, error: Exception | None = None) -> None:
        self._left = items
        self._error = error

    def cancel(self) -> None:
        pass

    def __aiter__(self) -> "_DiesAfter":
        return self

    async def __anext__(self) -> Any:
        if self._left == 0:
            raise self._error or ActorDiedError()
        self._left -= 1
        return "data: {}\n\n"


@pytest.mark.parametrize(("items", "error"), [(0, ReplicaLostError), (2, StreamInterruptedError)])
async def test_a_dead_replica_is_lost_before_the_answer_and_an_interruption_after(
    items: int, error: type[RetryableError]
) -> None:
    class _Dying:
        def remote(self, request: object) -> _DiesAfter:
            return _DiesAfter(items)

    backend = ServeHandleBackend(lambda model: ModelLocation("model-alpha", "model-alpha"))
    backend._handle = lambda model: type("H", (), {"chat": _Dying()})()  # type: ignore[method-assign]
    received = []
    with pytest.raises(error, match="ActorDiedError") as caught:
        async for item in backend.call("alpha", "chat", chat()):
            received.append(item)
    assert len(received) == items
    assert type(caught.value) is error


def _raised_in_replica(cause: Exception) -> RayTaskError:
    return RayTaskError("chat", "Traceback ...", cause).as_instanceof_cause()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ActorDiedError(), ReplicaLostError),
        (_raised_in_replica(ActorDiedError()), ReplicaLostError),
        (_raised_in_replica(RuntimeError("EngineDeadError: EngineCore died")), ReplicaLostError),
        # Ray Serve's gRPC transport delivers the replica's exception as it was raised.
        (EngineDeadError(), ReplicaLostError),
        (_raised_in_replica(TypeError("bad content part")), RequestFailedError),
        # Raised on our side before the request left (it did not pickle).
        (TypeError("cannot pickle 'ValidatorIterator' object"), RequestFailedError),
    ],
)
async def test_only_a_gone_replica_is_lost_not_an_error_raised_on_the_request(
    raised: Exception, expected: type[Exception]
) -> None:
    class _Raising:
        def remote(self, request: object) -> _DiesAfter:
            return _DiesAfter(0, raised)

    backend = ServeHandleBackend(lambda model: ModelLocation("model-alpha", "model-alpha"))
    backend._handle = lambda model: type("H", (), {"chat": _Raising()})()  # type: ignore[method-assign]
    with pytest.raises(expected) as caught:
        await anext(backend.call("alpha", "chat", chat()))
    assert type(caught.value) is expected
