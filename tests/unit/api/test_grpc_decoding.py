"""Undecodable gRPC requests reach the handler as a value and are refused as INVALID_ARGUMENT,
on a real grpcio server registered the way Ray Serve's proxy registers ours."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from fleet.v1 import fleet_pb2, fleet_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.api import grpc_handlers
from services.api.grpc_decoding import (
    UndecodableMessage,
    add_fleet_service,
    add_health_service,
    decoded,
    tolerant,
)
from services.api.grpc_status import apply_status, to_grpc_status
from services.errors import InvalidRequestError

GOOD = fleet_pb2.GenerateRequest(prompt="hello", request_id="r1").SerializeToString()
CORRUPT = (b"\xff\xff\xff", GOOD[:-1], b"\x12\x02\xc3\x28")  # bad wire, cut short, bad UTF-8


def test_a_good_message_parses_as_before() -> None:
    parse = tolerant(fleet_pb2.GenerateRequest.FromString)
    assert parse(GOOD) == fleet_pb2.GenerateRequest(prompt="hello", request_id="r1")


@pytest.mark.parametrize("raw", CORRUPT)
def test_a_corrupt_message_becomes_a_value_the_handler_refuses(raw: bytes) -> None:
    received = tolerant(fleet_pb2.GenerateRequest.FromString)(raw)
    assert isinstance(received, UndecodableMessage)
    assert (received.message_type, received.size) == ("GenerateRequest", len(raw))
    with pytest.raises(InvalidRequestError, match="not a valid GenerateRequest message"):
        decoded(received)


class EchoServicer(fleet_pb2_grpc.FleetServiceServicer):
    async def Generate(
        self,
        request: fleet_pb2.GenerateRequest | UndecodableMessage,
        context: grpc.aio.ServicerContext,
    ) -> fleet_pb2.GenerateResponse:
        try:
            return fleet_pb2.GenerateResponse(text=decoded(request).prompt)
        except InvalidRequestError as error:
            apply_status(context, to_grpc_status(error))
            return fleet_pb2.GenerateResponse()


class HealthServicer(health_pb2_grpc.HealthServicer):
    async def Check(
        self, request: object, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        return grpc_handlers.health_check(request, context)  # type: ignore[arg-type]


@pytest_asyncio.fixture(loop_scope="function")
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server()
    add_fleet_service(EchoServicer(), server)
    add_health_service(HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as opened:
        yield opened
    await server.stop(None)


def _raw_call(channel: grpc.aio.Channel, method: str) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(method, request_serializer=None, response_deserializer=None)


async def test_the_registered_service_answers_a_good_message(channel: grpc.aio.Channel) -> None:
    raw = await _raw_call(channel, "/fleet.v1.FleetService/Generate")(GOOD)
    assert fleet_pb2.GenerateResponse.FromString(raw).text == "hello"


@pytest.mark.parametrize("raw", CORRUPT)
async def test_the_registered_service_refuses_a_corrupt_message(
    channel: grpc.aio.Channel, raw: bytes
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _raw_call(channel, "/fleet.v1.FleetService/Generate")(raw)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid GenerateRequest message" in (refused.value.details() or "")


async def test_health_refuses_a_corrupt_message(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _raw_call(channel, "/grpc.health.v1.Health/Check")(b"\xff\xff")
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
