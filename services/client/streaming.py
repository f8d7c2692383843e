"""What a GenerateStream call has delivered so far; shared by the sync and async streams."""

from __future__ import annotations

import grpc
from fleet.v1 import fleet_pb2

from services.client import convert
from services.client.errors import FleetClientError
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
        self.received_any = True
        kind = message.WhichOneof("event")
        if kind == "delta":
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
