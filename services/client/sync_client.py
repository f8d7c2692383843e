"""The blocking client: ``FleetClient`` and the stream it returns."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, Unpack

import grpc
from fleet.v1 import fleet_pb2

from services.client import convert
from services.client.base import ClientBase, Metadata, with_timeout
from services.client.closing import Closing
from services.client.convert import GenerateArgs
from services.client.errors import FleetClientError
from services.client.retry import Attempts, Deadline, RetryPolicy
from services.client.streaming import StreamBase
from services.client.types import Generation, ModelInfo, TextDelta

Response = TypeVar("Response")
# Starts one attempt of a streaming call, given that attempt's timeout.
StartStream = Callable[[float | None], Iterator[fleet_pb2.GenerateStreamResponse]]


class GenerationStream(StreamBase, Closing):
    """The text deltas of one ``generate_stream`` call, as they are generated.

    Iterate it for ``TextDelta``s; once the loop ends, ``end`` holds the finish reason,
    usage and route. Leaving early (``break`` + ``close()``, or a ``with`` block) cancels
    the call, so the cluster stops generating.
    """

    def __init__(self, start: StartStream, policy: RetryPolicy, deadline: Deadline) -> None:
        super().__init__(policy, deadline)
        self._start = start
        self._call: Any = None

    def __iter__(self) -> GenerationStream:
        return self

    def __next__(self) -> TextDelta:
        while not self._finished:
            try:
                message = self._read()
            except FleetClientError:
                self._finished = True
                raise
            if message is None:
                continue  # a retry was started
            delta = self._state.on_message(message)
            if delta is not None:
                return delta
        raise StopIteration

    def _read(self) -> fleet_pb2.GenerateStreamResponse | None:
        """The next message, or None after scheduling a retry; raises FleetClientError."""
        if self._call is None:
            self._call = self._start(self._attempts.timeout_s())
        try:
            return next(self._call)
        except StopIteration:
            self._call = None
            self._finished = True
            self._state.on_eof()
            raise
        except grpc.RpcError as error:
            self._call = None
            time.sleep(self._backoff_s(error))
            return None

    def close(self) -> None:
        """Cancel the call if it is still running; safe to call more than once."""
        self._stop()


class FleetClient(ClientBase[grpc.Channel], Closing):
    """A blocking client for ``fleet.v1.FleetService``.

        with FleetClient("localhost:9000") as client:
            answer = client.generate(model="qwen", messages=[{"role": "user", "content": "Hi"}])

    ``timeout`` is the default deadline of each call in seconds (retries included; None
    for no deadline). UNAVAILABLE is retried with backoff up to ``max_retries`` times,
    only while the call has produced nothing. Failures raise ``FleetClientError``.
    """

    def _open_channel(
        self,
        target: str,
        credentials: grpc.ChannelCredentials | None,
        options: Sequence[tuple[str, Any]],
    ) -> grpc.Channel:
        if credentials is None:
            return grpc.insecure_channel(target, options=options)
        return grpc.secure_channel(target, credentials, options=options)

    def generate(
        self, *, timeout: float | None = None, metadata: Metadata = (), **args: Unpack[GenerateArgs]
    ) -> Generation:
        """Generate a whole answer. ``timeout`` (seconds) overrides the client's default."""
        request = convert.build_request(**args)
        response = self._unary(self._stub.Generate, request, timeout, metadata)
        return convert.generation(response)

    def generate_stream(
        self, *, timeout: float | None = None, metadata: Metadata = (), **args: Unpack[GenerateArgs]
    ) -> GenerationStream:
        """Start generating; iterate the result for deltas (see ``GenerationStream``)."""
        start = self._stream_starter(args, metadata)
        return GenerationStream(start, self._policy, self._deadline(timeout))

    def list_models(
        self, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> list[ModelInfo]:
        response = self._unary(
            self._stub.ListModels, fleet_pb2.ListModelsRequest(), timeout, metadata
        )
        return [convert.model_info(model) for model in response.models]

    def _unary(
        self,
        method: Callable[..., Response],
        request: Any,
        timeout: float | None,
        metadata: Metadata,
    ) -> Response:
        attempts = Attempts(self._policy, self._deadline(timeout))
        call_metadata = self._call_metadata(metadata)
        while True:
            try:
                timeout_s = attempts.timeout_s()
                return method(
                    request, timeout=timeout_s, metadata=with_timeout(call_metadata, timeout_s)
                )
            except grpc.RpcError as error:
                time.sleep(attempts.backoff_s(error, produced_anything=False))

    def close(self) -> None:
        self._channel.close()
