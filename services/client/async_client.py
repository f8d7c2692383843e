"""The asyncio client: ``AsyncFleetClient`` and the stream it returns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack

import grpc
import grpc.aio
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from services.client import convert
from services.client.convert import GenerateArgs
from services.client.errors import FleetClientError
from services.client.retry import Deadline, RetryPolicy, next_backoff_s, resolve_policy
from services.client.streaming import StreamState
from services.client.types import Generation, ModelInfo, RouteInfo, StreamEnd, TextDelta

Metadata = Sequence[tuple[str, str]]
Response = TypeVar("Response")
# Starts one attempt of a streaming call, given that attempt's timeout.
StartStream = Callable[[float | None], grpc.aio.UnaryStreamCall]


class AsyncGenerationStream:
    """The text deltas of one ``generate_stream`` call, as they are generated.

    ``async for`` it for ``TextDelta``s; afterwards ``end`` holds the finish reason,
    usage and route. Leaving early (``aclose()``, ``async with``, or dropping the
    stream after ``break``) cancels the call, so the cluster stops generating.
    """

    def __init__(self, start: StartStream, policy: RetryPolicy, deadline: Deadline) -> None:
        self._start = start
        self._policy = policy
        self._deadline = deadline
        self._state = StreamState()
        self._call: grpc.aio.UnaryStreamCall | None = None
        self._retries = 0
        self._finished = False

    @property
    def end(self) -> StreamEnd | None:
        """The final event; None until the stream has been read to its end."""
        return self._state.end

    @property
    def text(self) -> str:
        """All text received so far."""
        return self._state.text

    @property
    def route(self) -> RouteInfo | None:
        """Where the request went, known from the first delta on."""
        return self._state.route

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
            self._call = self._start(self._deadline.attempt_timeout_s())
        try:
            message = await self._call.read()
        except grpc.RpcError as error:
            self._call = None
            wait_s = next_backoff_s(
                self._policy,
                self._deadline,
                error,
                self._retries,
                produced_anything=self._state.received_any,
            )
            if wait_s is None:
                raise FleetClientError.from_rpc_error(error) from None
            self._retries += 1
            await asyncio.sleep(wait_s)
            return None
        if message is grpc.aio.EOF:
            self._call = None
            self._finished = True
            self._state.on_eof()
            return None
        return message

    def cancel(self) -> None:
        """Cancel the call if it is still running; safe to call more than once."""
        self._finished = True
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    async def aclose(self) -> None:
        self.cancel()

    async def __aenter__(self) -> AsyncGenerationStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()

    def __del__(self) -> None:
        # Dropped mid-stream (a `break` with no aclose): cancel rather than let the
        # cluster generate an answer nobody reads. grpc.aio's cancel() is synchronous.
        if getattr(self, "_call", None) is not None:
            self.cancel()


class AsyncFleetClient:
    """An asyncio client for ``fleet.v1.FleetService``; create it inside a running loop.

        async with AsyncFleetClient("localhost:9000") as client:
            async for delta in client.generate_stream(model="qwen", prompt="Once"):
                print(delta.text, end="")

    Deadlines, retries and errors behave as in ``FleetClient``.
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None = 60.0,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Metadata = (),
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(target, options=channel_options)
        else:
            self._channel = grpc.aio.secure_channel(target, credentials, options=channel_options)
        self._stub = fleet_pb2_grpc.FleetServiceStub(self._channel)
        self._timeout = timeout
        self._policy = resolve_policy(retry_policy, max_retries)
        self._metadata = tuple(metadata)

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
        request = convert.build_request(**args)
        call_metadata = self._metadata + tuple(metadata)

        def start(attempt_timeout_s: float | None) -> grpc.aio.UnaryStreamCall:
            return self._stub.GenerateStream(
                request, timeout=attempt_timeout_s, metadata=call_metadata
            )

        return AsyncGenerationStream(start, self._policy, self._deadline(timeout))

    async def list_models(
        self, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> list[ModelInfo]:
        response = await self._unary(
            self._stub.ListModels, fleet_pb2.ListModelsRequest(), timeout, metadata
        )
        return [convert.model_info(model) for model in response.models]

    def _deadline(self, timeout: float | None) -> Deadline:
        return Deadline(self._timeout if timeout is None else timeout)

    async def _unary(
        self,
        method: Callable[..., Awaitable[Response]],
        request: Any,
        timeout: float | None,
        metadata: Metadata,
    ) -> Response:
        deadline = self._deadline(timeout)
        call_metadata = self._metadata + tuple(metadata)
        retries = 0
        while True:
            try:
                return await method(
                    request, timeout=deadline.attempt_timeout_s(), metadata=call_metadata
                )
            except grpc.RpcError as error:
                wait_s = next_backoff_s(
                    self._policy, deadline, error, retries, produced_anything=False
                )
                if wait_s is None:
                    raise FleetClientError.from_rpc_error(error) from None
                retries += 1
                await asyncio.sleep(wait_s)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncFleetClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
