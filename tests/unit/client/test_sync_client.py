import gc
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from fleet.v1 import fleet_pb2_grpc

from services.client import (
    ChatMessage,
    FinishReason,
    FleetClient,
    FleetClientError,
    ModelInfo,
    RetryPolicy,
    RouteInfo,
    TextDelta,
    Usage,
)
from tests.unit.client.fakes import MISSING_MESSAGE, FakeServicer

FAST_RETRIES = RetryPolicy(max_retries=3, initial_backoff_s=0.01, max_backoff_s=0.02)


@pytest.fixture
def servicer() -> FakeServicer:
    return FakeServicer(fail_times=2)


@pytest.fixture
def client(servicer: FakeServicer) -> Iterator[FleetClient]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    fleet_pb2_grpc.add_FleetServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with FleetClient(f"127.0.0.1:{port}", timeout=5, retry_policy=FAST_RETRIES) as fleet:
        yield fleet
    server.stop(grace=None)


def test_generate_returns_a_typed_answer(client: FleetClient) -> None:
    answer = client.generate(model="echo", prompt="hello there", request_id="req-1")

    assert answer.text == "hello there"
    assert answer.finish_reason is FinishReason.STOP
    assert answer.finish_reason == "stop"
    assert answer.usage == Usage(prompt_tokens=2, completion_tokens=2, total_tokens=4)
    assert answer.route == RouteInfo(model="echo", reason="requested by name")
    assert answer.time_to_first_token_ms == 1.5
    assert answer.request_id == "req-1"


def test_generate_sends_messages_sampling_and_routing(
    client: FleetClient, servicer: FakeServicer
) -> None:
    answer = client.generate(
        model="echo",
        messages=[ChatMessage("system", "be brief"), {"role": "user", "content": "hi you"}],
        temperature=0.0,
        max_tokens=8,
        stop="\n",
        routing_key="user-7",
        tenant="search",
        labels={"tier": "gold"},
    )

    assert answer.text == "hi you"
    sent = servicer.requests[-1]
    assert [(m.role, m.content) for m in sent.chat.messages] == [
        ("system", "be brief"),
        ("user", "hi you"),
    ]
    # An explicit 0 is sent as set; what was left out stays unset.
    assert sent.sampling.HasField("temperature") and sent.sampling.temperature == 0.0
    assert not sent.sampling.HasField("top_p")
    assert sent.sampling.max_tokens == 8
    assert list(sent.sampling.stop) == ["\n"]
    assert (sent.routing.routing_key, sent.routing.tenant) == ("user-7", "search")
    assert dict(sent.routing.labels) == {"tier": "gold"}


def test_generate_stream_yields_deltas_then_the_end(client: FleetClient) -> None:
    stream = client.generate_stream(model="echo", prompt="one two three")

    deltas = list(stream)

    assert [delta.text for delta in deltas] == ["one", " two", " three"]
    assert deltas[0].route == RouteInfo(model="echo", reason="requested by name")
    assert all(delta.route is None for delta in deltas[1:])
    assert stream.text == "one two three"
    assert stream.end is not None
    assert stream.end.finish_reason is FinishReason.LENGTH
    assert stream.end.usage.total_tokens == 6
    assert stream.end.time_to_first_token_ms == 2.5
    assert stream.route == RouteInfo(model="echo", reason="requested by name")


def test_deadline_ends_the_call_with_deadline_exceeded(client: FleetClient) -> None:
    started = time.monotonic()
    with pytest.raises(FleetClientError) as caught:
        client.generate(model="slow", prompt="hi", timeout=0.2)

    assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1.5


def test_stream_deadline_ends_with_deadline_exceeded(client: FleetClient) -> None:
    with pytest.raises(FleetClientError) as caught:
        list(client.generate_stream(model="slow", prompt="hi", timeout=0.2))

    assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED


def test_unavailable_is_retried_until_it_succeeds(
    client: FleetClient, servicer: FakeServicer
) -> None:
    answer = client.generate(model="flaky", prompt="at last")

    assert answer.text == "at last"
    assert servicer.calls == 3


def test_stream_is_retried_while_it_has_sent_nothing(
    client: FleetClient, servicer: FakeServicer
) -> None:
    stream = client.generate_stream(model="flaky", prompt="at last")

    assert "".join(delta.text for delta in stream) == "at last"
    assert servicer.calls == 3


def test_stream_is_retried_after_a_bare_stream_end(
    client: FleetClient, servicer: FakeServicer
) -> None:
    stream = client.generate_stream(model="flaky-ended", prompt="at last")

    assert "".join(delta.text for delta in stream) == "at last"
    assert servicer.calls == 3


def test_retries_stop_at_max_retries(servicer: FakeServicer, client: FleetClient) -> None:
    servicer.fail_times = 100

    with pytest.raises(FleetClientError) as caught:
        client.generate(model="flaky", prompt="never")

    assert caught.value.code is grpc.StatusCode.UNAVAILABLE
    assert caught.value.message == "no replica is ready"
    assert servicer.calls == 1 + FAST_RETRIES.max_retries


def test_stream_is_never_retried_after_a_delta(client: FleetClient, servicer: FakeServicer) -> None:
    stream = client.generate_stream(model="breaks-midway", prompt="partial answer")

    first = next(stream)
    with pytest.raises(FleetClientError) as caught:
        next(stream)

    route = RouteInfo("breaks-midway", reason="requested by name")
    assert first == TextDelta(text="partial", route=route)
    assert caught.value.code is grpc.StatusCode.UNAVAILABLE
    assert servicer.calls == 1
    assert stream.end is None
    assert list(stream) == []


def test_not_found_surfaces_the_servers_message(client: FleetClient) -> None:
    with pytest.raises(FleetClientError) as caught:
        client.generate(model="missing", prompt="hi")

    assert caught.value.code is grpc.StatusCode.NOT_FOUND
    assert caught.value.message == MISSING_MESSAGE
    assert "NOT_FOUND" in str(caught.value)


def test_stream_without_its_end_event_is_an_error(client: FleetClient) -> None:
    stream = client.generate_stream(model="no-end", prompt="cut short")

    assert next(stream).text == "cut"
    with pytest.raises(FleetClientError) as caught:
        next(stream)
    assert caught.value.code is grpc.StatusCode.INTERNAL


def test_closing_a_stream_cancels_the_call_on_the_server(
    client: FleetClient, servicer: FakeServicer
) -> None:
    with client.generate_stream(model="endless", prompt="again") as stream:
        for _ in range(3):
            next(stream)

    assert servicer.stream_terminated.wait(timeout=5)
    sent_at_cancel = servicer.endless_sent
    time.sleep(0.1)
    assert servicer.endless_sent <= sent_at_cancel + 1


def test_breaking_out_of_the_loop_cancels_the_call(
    client: FleetClient, servicer: FakeServicer
) -> None:
    for index, _ in enumerate(client.generate_stream(model="endless", prompt="again")):
        if index == 2:
            break
    gc.collect()  # CPython already dropped the stream; this covers other runtimes

    assert servicer.stream_terminated.wait(timeout=5)


def test_list_models(client: FleetClient) -> None:
    models = client.list_models()

    assert models[0] == ModelInfo(
        id="echo", owned_by="llm-fleet", max_model_len=2048, aliases=("default",)
    )
    assert models[1].max_model_len is None


def test_unreachable_server_is_unavailable_after_retries() -> None:
    with (
        FleetClient("127.0.0.1:1", timeout=5, retry_policy=FAST_RETRIES) as fleet,
        pytest.raises(FleetClientError) as caught,
    ):
        fleet.generate(model="echo", prompt="hi")

    assert caught.value.code is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"model": "echo"}, ValueError),
        ({"model": "echo", "prompt": "a", "messages": []}, ValueError),
        ({"model": "echo", "prompt": "a", "temprature": 1.0}, TypeError),
        ({"prompt": "a"}, TypeError),
    ],
)
def test_misuse_is_caught_before_sending(
    client: FleetClient, servicer: FakeServicer, args: dict, error: type[Exception]
) -> None:
    with pytest.raises(error):
        client.generate(**args)
    assert servicer.calls == 0
