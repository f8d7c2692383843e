"""The asyncio client: ``AsyncFleetClient`` and the stream it returns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, Unpack

import grpc
import grpc.aio
from fleet.v1 import fleet_pb2

from services.client import convert
from services.client.base import ClientBase, Metadata, with_timeout
from services.client.closing import AsyncClosing
from services.client.convert import GenerateArgs
from services.client.errors import FleetClientError
from services.client.retry import Attempts, Deadline, RetryPolicy
from services.client.streaming import StreamBase
from services.client.types import Generation, ModelInfo, TextDelta

Response = TypeVar("Response")
# Starts one attempt of a streaming call, given that attempt's timeout.
StartStream = Callable[[float | None], grpc.aio.UnaryStreamCall]


class AsyncGenerationStream(StreamBase, AsyncClosing):
    """The text deltas of one ``generate_stream`` call, as they are generated.

    ``async for`` it for ``TextDelta``s; afterwards ``end`` holds the finish reason,
    usage and route. Leaving early (``aclose()``, ``async with``, or dropping the
    stream after ``break``) cancels the call, so the cluster stops generating.
    """

    def __init__(self, start: StartStream, policy: RetryPolicy, deadline: Deadline) -> None:
        super().__init__(policy, deadline)
        self._start = start
        self._call: grpc.aio.UnaryStreamCall | None = None

    def __aiter__(self) -> AsyncGenerationStream:
        return self

    async def __anext__(self) -> TextDelta:
        while not self._finished:
            try:
                message = await self._read()
            except (FleetClientError, asyncio.CancelledError):
                self.cancel()
                raise
            if message is None:
                continue  # a retry was started, or the stream ended
            delta = self._state.on_message(message)
            if delta is not None:
                return delta
        raise StopAsyncIteration

    async def _read(self) -> fleet_pb2.GenerateStreamResponse | None:
        """The next message, or None after a retry or the end; raises FleetClientError."""
        if self._call is None:
            self._call = self._start(self._attempts.timeout_s())
        try:
            message = await self._call.read()
        except grpc.RpcError as error:
            self._call = None
            await asyncio.sleep(self._backoff_s(error))
            return None
        if message is grpc.aio.EOF:
            self._call = None
            self._finished = True
            self._state.on_eof()
            return None
        return message

    def cancel(self) -> None:
        """Cancel the call if it is still running; safe to call more than once."""
        self._stop()

    async def aclose(self) -> None:
        self.cancel()

    async def _close_on_exit(self) -> None:
        await self.aclose()


class AsyncFleetClient(ClientBase[grpc.aio.Channel], AsyncClosing):
    """An asyncio client for ``fleet.v1.FleetService``; create it inside a running loop.

        async with AsyncFleetClient("localhost:9000") as client:
            async for delta in client.generate_stream(model="qwen", prompt="Once"):
                print(delta.text, end="")

    Deadlines, retries and errors behave as in ``FleetClient``.
    """

    def _open_channel(
        self,
        target: str,
        credentials: grpc.ChannelCredentials | None,
        options: Sequence[tuple[str, Any]],
    ) -> grpc.aio.Channel:
        if credentials is None:
            return grpc.aio.insecure_channel(target, options=options)
        return grpc.aio.secure_channel(target, credentials, options=options)

    async def generate(
        self, *, timeout: float | None = None, metadata: Metadata = (), **args: Unpack[GenerateArgs]
    ) -> Generation:
        """Generate a whole answer. ``timeout`` (seconds) overrides the client's default."""
        request = convert.build_request(**args)
        response = await self._unary(self._stub.Generate, request, timeout, metadata)
        return convert.generation(response)

    def generate_stream(
        self, *, timeout: float | None = None, metadata: Metadata = (), **args: Unpack[GenerateArgs]
    ) -> AsyncGenerationStream:
        """Start generating; ``async for`` the result for deltas."""
        start = self._stream_starter(args, metadata)
        return AsyncGenerationStream(start, self._policy, self._deadline(timeout))

    async def list_models(
        self, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> list[ModelInfo]:
        response = await self._unary(
            self._stub.ListModels, fleet_pb2.ListModelsRequest(), timeout, metadata
        )
        return [convert.model_info(model) for model in response.models]

    async def _unary(
        self,
        method: Callable[..., Awaitable[Response]],
        request: Any,
        timeout: float | None,
        metadata: Metadata,
    ) -> Response:
        attempts = Attempts(self._policy, self._deadline(timeout))
        call_metadata = self._call_metadata(metadata)
        while True:
            try:
                timeout_s = attempts.timeout_s()
                return await method(
                    request, timeout=timeout_s, metadata=with_timeout(call_metadata, timeout_s)
                )
            except grpc.RpcError as error:
                await asyncio.sleep(attempts.backoff_s(error, produced_anything=False))

    async def close(self) -> None:
        await self._channel.close()

    async def _close_on_exit(self) -> None:
        await self.close()
