"""Fake FleetService servicers (sync and asyncio) whose behaviour is chosen by model name.

    echo             answers with the prompt (or the last chat message), word by word
    missing          NOT_FOUND
    slow             answers after 2 s (for deadlines)
    flaky            UNAVAILABLE for the first ``fail_times`` calls, then like echo
    flaky-ended      (stream) like flaky, each failure after a bare StreamEnd (as llm-fleet
                     ends a failed stream)
    breaks-midway    (stream) one delta, then UNAVAILABLE
    no-end           (stream) one delta, then closes without a StreamEnd
    endless          (stream) deltas until the caller cancels

Each servicer records the requests it got and sees when a stream is cancelled.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import grpc.aio
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

MISSING_MESSAGE = "The model 'missing' does not exist. Models served: echo."
SERVED_MODELS = [
    fleet_pb2.ModelInfo(id="echo", owned_by="llm-fleet", max_model_len=2048, aliases=["default"]),
    fleet_pb2.ModelInfo(id="slow", owned_by="llm-fleet"),
]


def _input_text(request: fleet_pb2.GenerateRequest) -> str:
    if request.WhichOneof("input") == "chat":
        return request.chat.messages[-1].content
    return request.prompt


def _route(request: fleet_pb2.GenerateRequest) -> fleet_pb2.RouteInfo:
    return fleet_pb2.RouteInfo(model=request.routing.model, reason="requested by name")


def _usage(request: fleet_pb2.GenerateRequest) -> fleet_pb2.Usage:
    words = len(_input_text(request).split())
    return fleet_pb2.Usage(prompt_tokens=words, completion_tokens=words, total_tokens=2 * words)


def answer(request: fleet_pb2.GenerateRequest) -> fleet_pb2.GenerateResponse:
    return fleet_pb2.GenerateResponse(
        text=_input_text(request),
        finish_reason=fleet_pb2.FINISH_REASON_STOP,
        usage=_usage(request),
        route=_route(request),
        time_to_first_token_ms=1.5,
        request_id=request.request_id or "generated-id",
    )


def deltas(request: fleet_pb2.GenerateRequest) -> list[fleet_pb2.GenerateStreamResponse]:
    words = _input_text(request).split(" ")
    events = [
        fleet_pb2.GenerateStreamResponse(
            delta=fleet_pb2.TextDelta(
                text=word if i == 0 else f" {word}", route=_route(request) if i == 0 else None
            )
        )
        for i, word in enumerate(words)
    ]
    end = fleet_pb2.StreamEnd(
        finish_reason=fleet_pb2.FINISH_REASON_LENGTH,
        usage=_usage(request),
        route=_route(request),
        time_to_first_token_ms=2.5,
        request_id=request.request_id or "generated-id",
    )
    return [*events, fleet_pb2.GenerateStreamResponse(end=end)]


class _RecordingServicer(fleet_pb2_grpc.FleetServiceServicer):
    """What both fakes share: the requests they got, and which calls to fail."""

    def __init__(self, fail_times: int = 2) -> None:
        self.fail_times = fail_times
        self.calls = 0
        self.requests: list[fleet_pb2.GenerateRequest] = []

    def _record(self, request: fleet_pb2.GenerateRequest) -> tuple[grpc.StatusCode, str] | None:
        """Records the call; returns the status to abort it with, if its model asks for one."""
        self.calls += 1
        self.requests.append(request)
        model = request.routing.model
        if model == "missing":
            return grpc.StatusCode.NOT_FOUND, MISSING_MESSAGE
        if model in ("flaky", "flaky-ended") and self.calls <= self.fail_times:
            return grpc.StatusCode.UNAVAILABLE, "no replica is ready"
        return None


class FakeServicer(_RecordingServicer):
    """For ``grpc.server``; records requests and sees cancellations."""

    def __init__(self, fail_times: int = 2) -> None:
        super().__init__(fail_times)
        self.stream_terminated = threading.Event()
        self.endless_sent = 0

    def _common(self, request: fleet_pb2.GenerateRequest, context: grpc.ServicerContext) -> None:
        failure = self._record(request)
        if failure is not None:
            context.abort(*failure)
        if request.routing.model == "slow":
            time.sleep(2)

    def Generate(
        self, request: fleet_pb2.GenerateRequest, context: grpc.ServicerContext
    ) -> fleet_pb2.GenerateResponse:
        self._common(request, context)
        return answer(request)

    def GenerateStream(
        self, request: fleet_pb2.GenerateRequest, context: grpc.ServicerContext
    ) -> Iterator[fleet_pb2.GenerateStreamResponse]:
        context.add_callback(self.stream_terminated.set)
        if request.routing.model == "flaky-ended" and (failure := self._record(request)):
            yield fleet_pb2.GenerateStreamResponse(end=fleet_pb2.StreamEnd())
            context.abort(*failure)
        elif request.routing.model != "flaky-ended":
            self._common(request, context)
        events = deltas(request)
        model = request.routing.model
        if model == "breaks-midway":
            yield events[0]
            context.abort(grpc.StatusCode.UNAVAILABLE, "replica died")
        elif model == "no-end":
            yield events[0]
        elif model == "endless":
            while context.is_active():
                self.endless_sent += 1
                yield events[0]
                time.sleep(0.01)
        else:
            yield from events

    def ListModels(
        self, request: fleet_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> fleet_pb2.ListModelsResponse:
        return fleet_pb2.ListModelsResponse(models=SERVED_MODELS)


class AsyncFakeServicer(_RecordingServicer):
    """For ``grpc.aio.server``; same behaviours as ``FakeServicer``."""

    def __init__(self, fail_times: int = 2) -> None:
        super().__init__(fail_times)
        self.stream_cancelled = asyncio.Event()

    async def _common(
        self, request: fleet_pb2.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> None:
        failure = self._record(request)
        if failure is not None:
            await context.abort(*failure)
        if request.routing.model == "slow":
            await asyncio.sleep(2)

    async def Generate(
        self, request: fleet_pb2.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> fleet_pb2.GenerateResponse:
        await self._common(request, context)
        return answer(request)

    async def GenerateStream(
        self, request: fleet_pb2.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[fleet_pb2.GenerateStreamResponse]:
        await self._common(request, context)
        events = deltas(request)
        model = request.routing.model
        if model == "breaks-midway":
            yield events[0]
            await context.abort(grpc.StatusCode.UNAVAILABLE, "replica died")
        elif model == "no-end":
            yield events[0]
        elif model == "endless":
            try:
                while True:
                    yield events[0]
                    await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                # What the router relies on: a client that goes away cancels the handler.
                self.stream_cancelled.set()
                raise
        else:
            for event in events:
                yield event

    async def ListModels(
        self, request: fleet_pb2.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> fleet_pb2.ListModelsResponse:
        return fleet_pb2.ListModelsResponse(models=SERVED_MODELS)
