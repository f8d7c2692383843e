"""Hand each gRPC call on to Ray Serve's proxy as it came: the messages stay bytes (the
gateway never parses them), the status, details and trailing metadata come back unchanged,
and a client that leaves or runs out of time cancels the call behind it.

Only the methods of the services the gateway publishes are handed on; any other method
(Ray Serve's own API service among them) is UNIMPLEMENTED here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, NoReturn

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from services.tls_gateway.identity import Metadata, forwarded_metadata

# A method's shape: (client streams, server streams).
Shape = tuple[bool, bool]
MetadataFor = Callable[[grpc.aio.ServicerContext], list[tuple[str, str | bytes]]]


def method_shapes(services: Iterable[ServiceDescriptor]) -> dict[str, Shape]:
    """Every method of ``services`` by its path (``/package.Service/Method``)."""
    return {
        f"/{service.full_name}/{method.name}": (method.client_streaming, method.server_streaming)
        for service in services
        for method in service.methods
    }


def relayable(metadata: Metadata | None) -> tuple[tuple[str, str | bytes], ...]:
    """Trailing metadata the next hop may send again (gRPC's own keys it sets itself)."""
    return tuple(forwarded_metadata(tuple(metadata or ()), tenant=None, gateway_token=None))


class PassThrough(grpc.GenericRpcHandler):
    """The gateway's only handler: the published methods, each relayed to ``channel``."""

    def __init__(
        self, channel: grpc.aio.Channel, shapes: dict[str, Shape], metadata_for: MetadataFor
    ) -> None:
        self.channel = channel
        self.shapes = shapes
        self.metadata_for = metadata_for

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        shape = self.shapes.get(method)
        if shape is None:
            return None
        # No serializers anywhere: requests and responses travel as the client's bytes.
        match shape:
            case (False, False):
                return grpc.unary_unary_rpc_method_handler(self._unary(method))
            case (False, True):
                return grpc.unary_stream_rpc_method_handler(self._server_stream(method))
            case (True, False):
                return grpc.stream_unary_rpc_method_handler(self._client_stream(method))
            case _:
                return grpc.stream_stream_rpc_method_handler(self._bidi(method))

    def _call_options(self, context: grpc.aio.ServicerContext) -> dict[str, Any]:
        return {"metadata": self.metadata_for(context), "timeout": context.time_remaining()}

    def _unary(self, method: str) -> Callable[..., Any]:
        async def handle(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            call = self.channel.unary_unary(method)(request, **self._call_options(context))
            return await _single(call, context)

        return handle

    def _client_stream(self, method: str) -> Callable[..., Any]:
        async def handle(
            requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> bytes:
            call = self.channel.stream_unary(method)(requests, **self._call_options(context))
            return await _single(call, context)

        return handle

    # gRPC's asyncio server takes a streaming handler only as an async generator function.
    def _server_stream(self, method: str) -> Callable[..., AsyncIterator[bytes]]:
        async def handle(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            call = self.channel.unary_stream(method)(request, **self._call_options(context))
            async for response in _stream(call, context):
                yield response

        return handle

    def _bidi(self, method: str) -> Callable[..., AsyncIterator[bytes]]:
        async def handle(
            requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[bytes]:
            call = self.channel.stream_stream(method)(requests, **self._call_options(context))
            async for response in _stream(call, context):
                yield response

        return handle


async def _single(call: Any, context: grpc.aio.ServicerContext) -> bytes:
    try:
        response: bytes = await call
    except grpc.aio.AioRpcError as error:
        await _relay_failure(error, context)
    finally:
        call.cancel()  # a no-op once it ended; stops it when this handler is cancelled
    context.set_trailing_metadata(relayable(await call.trailing_metadata()))
    return response


async def _stream(call: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    try:
        async for response in call:
            yield response
    except grpc.aio.AioRpcError as error:
        await _relay_failure(error, context)
    finally:
        call.cancel()
    context.set_trailing_metadata(relayable(await call.trailing_metadata()))


async def _relay_failure(
    error: grpc.aio.AioRpcError, context: grpc.aio.ServicerContext
) -> NoReturn:
    await context.abort(error.code(), error.details() or "", relayable(error.trailing_metadata()))
    raise AssertionError("abort returned")  # abort always raises
