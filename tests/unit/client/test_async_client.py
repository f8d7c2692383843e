import asyncio
import gc
import time
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from fleet.v1 import fleet_pb2_grpc

from services.client import (
    AsyncFleetClient,
    FinishReason,
    FleetClientError,
    RetryPolicy,
    RouteInfo,
)
from tests.unit.client.fakes import MISSING_MESSAGE, AsyncFakeServicer

FAST_RETRIES = RetryPolicy(max_retries=3, initial_backoff_s=0.01, max_backoff_s=0.02)

# The server, the client and the test share one event loop per test.
pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest.fixture
def servicer() -> AsyncFakeServicer:
    return AsyncFakeServicer(fail_times=2)


@pytest_asyncio.fixture(loop_scope="function")
async def client(servicer: AsyncFakeServicer) -> AsyncIterator[AsyncFleetClient]:
    server = grpc.aio.server()
    fleet_pb2_grpc.add_FleetServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with AsyncFleetClient(f"127.0.0.1:{port}", timeout=5, retry_policy=FAST_RETRIES) as fleet:
        yield fleet
    await server.stop(grace=None)


async def test_generate_returns_a_typed_answer(client: AsyncFleetClient) -> None:
    answer = await client.generate(
        model="echo", messages=[{"role": "user", "content": "hello there"}], seed=7
    )

    assert answer.text == "hello there"
    assert answer.finish_reason is FinishReason.STOP
    assert answer.usage.total_tokens == 4
    assert answer.route == RouteInfo(model="echo", reason="requested by name")
    assert answer.request_id == "generated-id"


async def test_generate_stream_yields_deltas_then_the_end(client: AsyncFleetClient) -> None:
    stream = client.generate_stream(model="echo", prompt="one two three")

    texts = [delta.text async for delta in stream]

    assert texts == ["one", " two", " three"]
    assert stream.end is not None
    assert stream.end.finish_reason == "length"
    assert stream.end.usage.completion_tokens == 3
    assert stream.route == RouteInfo(model="echo", reason="requested by name")


async def test_deadline_ends_the_call_with_deadline_exceeded(client: AsyncFleetClient) -> None:
    started = time.monotonic()
    with pytest.raises(FleetClientError) as caught:
        await client.generate(model="slow", prompt="hi", timeout=0.2)

    assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1.5


async def test_stream_deadline_ends_with_deadline_exceeded(client: AsyncFleetClient) -> None:
    with pytest.raises(FleetClientError) as caught:
        async for _ in client.generate_stream(model="slow", prompt="hi", timeout=0.2):
            pass

    assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED


async def test_unavailable_is_retried_until_it_succeeds(
    client: AsyncFleetClient, servicer: AsyncFakeServicer
) -> None:
    answer = await client.generate(model="flaky", prompt="at last")

    assert answer.text == "at last"
    assert servicer.calls == 3


async def test_stream_is_retried_while_it_has_sent_nothing(
    client: AsyncFleetClient, servicer: AsyncFakeServicer
) -> None:
    stream = client.generate_stream(model="flaky", prompt="at last")

    assert "".join([delta.text async for delta in stream]) == "at last"
    assert servicer.calls == 3


async def test_stream_is_never_retried_after_a_delta(
    client: AsyncFleetClient, servicer: AsyncFakeServicer
) -> None:
    stream = client.generate_stream(model="breaks-midway", prompt="partial answer")

    first = await anext(stream)
    with pytest.raises(FleetClientError) as caught:
        await anext(stream)

    assert first.text == "partial"
    assert caught.value.code is grpc.StatusCode.UNAVAILABLE
    assert caught.value.message == "replica died"
    assert servicer.calls == 1


async def test_not_found_surfaces_the_servers_message(client: AsyncFleetClient) -> None:
    with pytest.raises(FleetClientError) as caught:
        await client.generate(model="missing", prompt="hi")

    assert caught.value.code is grpc.StatusCode.NOT_FOUND
    assert caught.value.message == MISSING_MESSAGE


async def test_stream_not_found_is_raised_before_any_delta(client: AsyncFleetClient) -> None:
    stream = client.generate_stream(model="missing", prompt="hi")

    with pytest.raises(FleetClientError) as caught:
        await anext(stream)
    assert caught.value.code is grpc.StatusCode.NOT_FOUND


async def test_closing_a_stream_cancels_the_call_on_the_server(
    client: AsyncFleetClient, servicer: AsyncFakeServicer
) -> None:
    async with client.generate_stream(model="endless", prompt="again") as stream:
        for _ in range(3):
            await anext(stream)

    await asyncio.wait_for(servicer.stream_cancelled.wait(), timeout=5)


async def test_breaking_out_of_the_loop_cancels_the_call(
    client: AsyncFleetClient, servicer: AsyncFakeServicer
) -> None:
    index = 0
    async for _ in client.generate_stream(model="endless", prompt="again"):
        index += 1
        if index == 3:
            break
    gc.collect()  # CPython already dropped the stream; this covers other runtimes

    await asyncio.wait_for(servicer.stream_cancelled.wait(), timeout=5)


async def test_cancelling_the_consuming_task_cancels_the_call(
    client: AsyncFleetClient, servicer: AsyncFakeServicer
) -> None:
    async def consume() -> None:
        async for _ in client.generate_stream(model="endless", prompt="again"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await asyncio.wait_for(servicer.stream_cancelled.wait(), timeout=5)


async def test_list_models(client: AsyncFleetClient) -> None:
    models = await client.list_models()

    assert [model.id for model in models] == ["echo", "slow"]
    assert models[0].aliases == ("default",)
