"""Calls from the router to the model deployments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any, NamedTuple, Protocol

import grpc
from ray import serve
from ray.exceptions import RayError, RayTaskError
from ray.serve.exceptions import BackPressureError, RayServeException
from ray.serve.handle import DeploymentHandle

from services.errors import (
    FleetError,
    OverloadedError,
    ReplicaLostError,
    RequestFailedError,
    RetryableError,
    StreamInterruptedError,
)
from services.router.engine_errors import engine_died
from services.router.requests import Endpoint, OpenAIRequest

logger = logging.getLogger(__name__)


class ModelBackend(Protocol):
    """Sends one request to one served model and streams back what it yields."""

    def call(
        self, model: str, endpoint: Endpoint, request: OpenAIRequest
    ) -> AsyncGenerator[Any, None]: ...


class ModelLocation(NamedTuple):
    """Where a served name runs: its Ray Serve deployment and application, and for a LoRA
    adapter the name Serve's multiplexing keys it by on the base model's replicas."""

    deployment: str
    app: str
    adapter: str | None = None


class ServeHandleBackend:
    """The model deployments, reached through Ray Serve handles to Ray's ``LLMServer``."""

    def __init__(self, locate: Callable[[str], ModelLocation]) -> None:
        self._locate = locate
        # Handles are cached: each one carries its own metrics pusher and long-poll client.
        # They use Ray Serve's gRPC transport (``_by_reference=False``): each streamed
        # message goes straight to this replica instead of through Ray's object store
        # (loadtests/README.md, "Where the time goes").
        self._handles: dict[ModelLocation, DeploymentHandle] = {}
        self._calls: dict[str, dict[int, _Call]] = {}

    @property
    def in_flight(self) -> dict[str, int]:
        """Calls per model not yet finished (streams until their last item)."""
        return {model: len(calls) for model, calls in self._calls.items() if calls}

    def abandon(self, model: str, reason: str) -> int:
        """Cancel every call in flight to ``model``: its replicas are gone, and Serve
        would leave those calls waiting. Each fails with ``reason`` (before its first
        item, so the router falls back). Returns how many were cancelled."""
        calls = list(self._calls.get(model, {}).values())
        for call in calls:
            call.lost_reason = reason
            with contextlib.suppress(Exception):
                call.response.cancel()
        return len(calls)

    def _handle(self, model: str) -> DeploymentHandle:
        location = self._locate(model)
        handle = self._handles.get(location)
        if handle is None:
            handle = serve.get_deployment_handle(location.deployment, app_name=location.app)
            handle = handle.options(
                stream=True,
                _by_reference=False,
                # Serve prefers the replicas that already hold the adapter.
                multiplexed_model_id=location.adapter or "",
            )
            self._handles[location] = handle
        return handle

    async def call(
        self, model: str, endpoint: Endpoint, request: OpenAIRequest
    ) -> AsyncGenerator[Any, None]:
        response = getattr(self._handle(model), endpoint).remote(request)
        call = _Call(response)
        self._calls.setdefault(model, {})[id(call)] = call
        # The caller may vanish (disconnect, cancel, deadline) while this generator
        # is suspended at a yield; its frames may then be freed only at garbage
        # collection. Tying the abort to the calling task's end stops the engine at
        # once either way.
        caller = asyncio.current_task()
        finished = False

        def abort_unless_finished(_: object = None) -> None:
            if not finished:
                # Cancelling a call that already failed re-raises its error; the abort
                # must never replace the error being reported.
                with contextlib.suppress(Exception):
                    response.cancel()

        if caller is not None:
            caller.add_done_callback(abort_unless_finished)
        started = False
        try:
            async for item in response:
                started = True
                yield item
            finished = True
        except BackPressureError:
            finished = True
            raise OverloadedError(
                f"model '{model}' is at capacity (its request queue is full); retry later"
            ) from None
        except Exception as error:
            finished = True
            if call.lost_reason is not None:
                raise RetryableError(
                    f"model '{model}' is unavailable: {call.lost_reason}"
                ) from None
            if isinstance(error, FleetError):
                raise
            if started:
                raise StreamInterruptedError(
                    f"model '{model}' failed mid-answer ({type(error).__name__}); "
                    "the answer is incomplete"
                ) from error
            if _replica_lost(error):
                raise _unavailable(model, error) from error
            # A 500 the caller cannot explain: the operator needs the replica's traceback.
            logger.warning("model '%s' raised on a request: %r", model, error)
            raise RequestFailedError(
                f"model '{model}' failed on this request ({type(error).__name__})"
            ) from error
        finally:
            self._calls[model].pop(id(call), None)
            abort_unless_finished()
            if caller is not None:
                caller.remove_done_callback(abort_unless_finished)


class _Call:
    def __init__(self, response: Any) -> None:
        self.response = response
        self.lost_reason: str | None = None


def _replica_lost(error: Exception) -> bool:
    """Whether ``error`` says the replica (or the way to it, or its engine) is gone rather than
    that its code raised on this very request: only then may another replica or model fare
    better. On Ray Serve's gRPC transport the replica's own exceptions arrive unwrapped."""
    cause = error.cause if isinstance(error, RayTaskError) else error
    if isinstance(cause, RayError | RayServeException | grpc.RpcError):
        return True
    return engine_died(f"{type(cause).__name__}: {cause}")


def _unavailable(model: str, error: Exception) -> ReplicaLostError:
    # Dead or unreachable before it produced anything: the same request may succeed on
    # another replica, another model (the router's fallbacks) or later.
    return ReplicaLostError(f"model '{model}' is unavailable ({type(error).__name__})")
