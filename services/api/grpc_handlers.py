"""The gRPC adapter (``fleet.v1.FleetService`` and ``grpc.health.v1.Health``) over the router core.

Ray Serve's gRPC proxy calls the router deployment's methods named after the
RPCs; they delegate here. Status codes come from the one error mapping in
``grpc_status``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from dataclasses import replace
from typing import Protocol

from fleet.v1 import fleet_pb2
from grpc_health.v1 import health_pb2

from services.api.grpc_decoding import UndecodableMessage, decoded
from services.api.grpc_mapping import (
    StreamTranslator,
    chunks_from_sse,
    guard_report,
    list_models_response,
    to_openai_request,
)
from services.api.grpc_status import StatusContext, apply_status, to_grpc_status
from services.auth.access import (
    GUARD_POLICY_HEADER,
    Caller,
    Credentials,
    requested_guard_policies,
)
from services.auth.credentials import AUTHORIZATION_METADATA, TENANT_METADATA
from services.errors import (
    FleetError,
    GuardViolation,
    NotFoundError,
    StreamInterruptedError,
)
from services.router.core import Router
from services.router.deadlines import TIMEOUT_HEADER, parse_timeout_ms

FLEET_SERVICE = fleet_pb2.DESCRIPTOR.services_by_name["FleetService"].full_name


class CallContext(StatusContext, Protocol):
    """Ray Serve's gRPC context as the handlers use it: a status and the caller's metadata."""

    def invocation_metadata(self) -> Iterable[tuple[str, str]]: ...


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def identify(
    router: Router, context: CallContext, routing: fleet_pb2.RoutingHints | None = None
) -> Caller:
    """The caller the ``authorization`` metadata proves. A tenant claim counts only from a
    trusted upstream: the ``x-fleet-tenant`` metadata entry, else ``routing.tenant``; the
    entry wins because an upstream that forwards messages unread (the TLS gateway) can set
    only metadata, and must not be outvoted by its client's message."""
    metadata = dict(context.invocation_metadata())
    claimed = metadata.get(TENANT_METADATA) or (routing.tenant if routing is not None else "")
    return router.identify(
        Credentials(metadata.get(AUTHORIZATION_METADATA), claimed_tenant=claimed or None)
    )


def guard_policies(context: CallContext) -> tuple[str, ...]:
    """The guard policies the ``x-fleet-guard-policy`` metadata asks for (the key may
    repeat). Metadata, not a ``RoutingHints`` field: the same name as the HTTP header, and
    the fleet.v1 contract stays as it is."""
    values = [v for k, v in context.invocation_metadata() if k == GUARD_POLICY_HEADER]
    return requested_guard_policies(values)


def timeout_s(context: CallContext) -> float | None:
    """The caller's deadline from ``x-fleet-timeout-ms`` metadata (gRPC's own deadline stops
    at Ray's proxy; FleetClient sends both)."""
    return parse_timeout_ms(dict(context.invocation_metadata()).get(TIMEOUT_HEADER))


async def _events(
    router: Router,
    request: fleet_pb2.GenerateRequest,
    caller: Caller,
    started: float,
    context: CallContext,
) -> AsyncIterator[fleet_pb2.GenerateStreamResponse]:
    """Deltas as the engine produces them, then the end event (TTFT measured from arrival)."""
    body, hints = to_openai_request(request, stream=True)
    hints = replace(hints, guard_policies=guard_policies(context), timeout_s=timeout_s(context))
    stream = await router.generate_stream(body, hints, caller=caller, transport="grpc")
    translator = StreamTranslator(stream.decision, request.request_id or f"fleet-{uuid.uuid4()}")
    first_token_ms: float | None = None
    # Closing explicitly (not at garbage collection) is what aborts the engine's
    # generation at once when the caller cancels or its deadline passes.
    async with aclosing(stream.chunks) as chunks:
        async for sse in chunks:
            # One message per batch the engine sent, not per token: fewer writes, and
            # fewer moments where a client's cancel lands while Ray's proxy is writing
            # (there, the proxy misses it: ray-project/ray#42665).
            deltas = [e for c in chunks_from_sse(sse) if (e := translator.feed(c)) is not None]
            if deltas:
                if first_token_ms is None:
                    first_token_ms = _elapsed_ms(started)
                merged = deltas[0]
                merged.delta.text = "".join(event.delta.text for event in deltas)
                yield merged
    end = translator.end(first_token_ms or 0.0)
    report = guard_report(stream.guard)
    if report is not None:
        end.end.guardrails.CopyFrom(report)
    yield end


async def generate_stream(
    router: Router,
    received: fleet_pb2.GenerateRequest | UndecodableMessage,
    context: CallContext,
) -> AsyncIterator[fleet_pb2.GenerateStreamResponse]:
    started = time.perf_counter()
    request_id = ""
    try:
        request = decoded(received)
        request_id = request.request_id
        caller = identify(router, context, request.routing)
        async with aclosing(_events(router, request, caller, started, context)) as events:
            async for event in events:
                yield event
    except Exception as error:
        # A failed stream ends with a StreamEnd, then its status. Ray's proxy forwards a
        # replica's trailing metadata (the error's type, a guard's check, Retry-After) only
        # with a message, and logs a traceback for every stream that raises instead.
        apply_status(context, to_grpc_status(error))
        yield fleet_pb2.GenerateStreamResponse(
            end=fleet_pb2.StreamEnd(finish_reason=_finish_reason(error), request_id=request_id)
        )


def _finish_reason(error: Exception) -> fleet_pb2.FinishReason:
    if isinstance(error, GuardViolation):
        return fleet_pb2.FINISH_REASON_CONTENT_FILTER
    if isinstance(error, StreamInterruptedError):
        return fleet_pb2.FINISH_REASON_ABORT
    return fleet_pb2.FINISH_REASON_UNSPECIFIED


async def generate(
    router: Router,
    received: fleet_pb2.GenerateRequest | UndecodableMessage,
    context: CallContext,
) -> fleet_pb2.GenerateResponse:
    """Unary: the engine streams underneath, so the answer can report its time to first token.

    Errors set the status and return (not raise): Ray's proxy then forwards the trailing
    metadata too, which a raise would lose."""
    started = time.perf_counter()
    parts: list[str] = []
    try:
        request = decoded(received)
        caller = identify(router, context, request.routing)
        async with aclosing(_events(router, request, caller, started, context)) as events:
            async for event in events:
                if event.HasField("delta"):
                    parts.append(event.delta.text)
                else:
                    end = event.end
    except Exception as error:
        apply_status(context, to_grpc_status(error))
        return fleet_pb2.GenerateResponse()
    return fleet_pb2.GenerateResponse(
        text="".join(parts),
        finish_reason=end.finish_reason,
        usage=end.usage,
        route=end.route,
        time_to_first_token_ms=end.time_to_first_token_ms,
        request_id=end.request_id,
        guardrails=end.guardrails if end.HasField("guardrails") else None,
    )


def list_models(
    router: Router,
    received: fleet_pb2.ListModelsRequest | UndecodableMessage,
    context: CallContext,
) -> fleet_pb2.ListModelsResponse:
    """The models and routes the caller may name."""
    try:
        decoded(received)
        caller = identify(router, context)
    except Exception as error:
        apply_status(context, to_grpc_status(error))
        return fleet_pb2.ListModelsResponse()
    return list_models_response(router.model_cards(caller))


def health_check(
    received: health_pb2.HealthCheckRequest | UndecodableMessage, context: StatusContext
) -> health_pb2.HealthCheckResponse:
    """The standard health protocol: "" (the server) and our service are SERVING. Errors set
    the status and return, as in ``generate``."""
    try:
        request = decoded(received)
        if request.service not in ("", FLEET_SERVICE):
            raise NotFoundError(f"unknown service '{request.service}'", param="service")
    except FleetError as error:
        apply_status(context, to_grpc_status(error))
        return health_pb2.HealthCheckResponse()
    return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
