"""What the sync and async streams share: what the call delivered so far, and its retries."""

from __future__ import annotations

from typing import Any

import grpc
from fleet.v1 import fleet_pb2

from services.client import convert
from services.client.errors import FleetClientError
from services.client.retry import Attempts, Deadline, RetryPolicy
from services.client.types import RouteInfo, StreamEnd, TextDelta


class StreamState:
    def __init__(self) -> None:
        self.received_any = False
        self.end: StreamEnd | None = None
        self.route: RouteInfo | None = None
        self._pieces: list[str] = []

    @property
    def text(self) -> str:
        """All text received so far."""
        return "".join(self._pieces)

    def on_message(self, message: fleet_pb2.GenerateStreamResponse) -> TextDelta | None:
        """Record one message; returns the delta to hand to the caller, if it is one."""
        kind = message.WhichOneof("event")
        if kind == "delta":
            # Only text makes a retry unsafe: a failed stream may end with a bare StreamEnd.
            self.received_any = True
            delta = convert.text_delta(message.delta)
            self.route = self.route or delta.route
            self._pieces.append(delta.text)
            return delta
        if kind == "end":
            self.end = convert.stream_end(message.end)
            self.route = self.end.route or self.route
        # Event kinds added to the .proto after this client was built are skipped.
        return None

    def on_eof(self) -> None:
        """The server closed the stream with OK; it must have sent its StreamEnd."""
        if self.end is None:
            raise FleetClientError(
                grpc.StatusCode.INTERNAL, "the stream ended without its StreamEnd event"
            )


class StreamBase:
    """The state of one ``generate_stream`` call that the sync and async streams share.

    Subclasses set the running call (``_call``) and how to start one: their types differ.
    """

    # The running attempt, if any: a grpc or a grpc.aio call.
    _call: Any

    def __init__(self, policy: RetryPolicy, deadline: Deadline) -> None:
        self._attempts = Attempts(policy, deadline)
        self._state = StreamState()
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

    def _backoff_s(self, error: grpc.RpcError) -> float:
        """The wait before the next attempt; raises FleetClientError to give up."""
        return self._attempts.backoff_s(error, produced_anything=self._state.received_any)

    def _stop(self) -> None:
        self._finished = True
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    def __del__(self) -> None:
        # A loop left with `break` (and no close) drops the last reference here: cancel
        # rather than let the cluster generate an answer nobody reads. Both grpc's and
        # grpc.aio's cancel() are synchronous.
        if getattr(self, "_call", None) is not None:
            self._stop()
