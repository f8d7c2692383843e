"""The OpenAI-compatible HTTP adapter: translate HTTP to the router core and back.

No routing or validation lives here beyond parsing the body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError

from services.auth.access import (
    GUARD_POLICY_HEADER,
    Caller,
    Credentials,
    requested_guard_policies,
)
from services.auth.credentials import TENANT_METADATA
from services.errors import (
    ClientError,
    DeadlineExceededError,
    FleetError,
    InvalidRequestError,
    ModelNotFoundError,
    RequestTooLargeError,
    ServerError,
    to_openai_error,
)
from services.router.core import Router
from services.router.deadlines import TIMEOUT_HEADER, parse_timeout_ms
from services.router.requests import ChatCompletionRequest, CompletionRequest, OpenAIRequest
from services.router.types import RouteDecision, RoutingHints
from services.router.validation import (
    MODEL_VALIDATOR_ERRORS,
    refused_by_validator,
    validate_messages,
    validate_unicode,
    validation_failure,
)

logger = logging.getLogger(__name__)

RequestModel = TypeVar("RequestModel", bound=BaseModel)

ROUTING_KEY_HEADER = "x-fleet-routing-key"
LABEL_HEADER_PREFIX = "x-fleet-label-"
GUARDRAILS_HEADER = "x-fleet-guardrails"


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to pass ``max_bytes``: from its declared
    length, or while it streams in (a chunked body declares none)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RequestTooLargeError(max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise RequestTooLargeError(max_bytes)
    return bytes(body)


async def parse_body(
    request: Request, model_cls: type[RequestModel], max_bytes: int
) -> RequestModel:
    raw = await read_body(request, max_bytes)
    try:
        # Strictly: json.loads(bytes) would let UTF-8-encoded surrogates through as text.
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequestError(f"the request body is not valid UTF-8: {error}") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequestError(f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidRequestError("the request body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    validate_unicode(payload, raw)
    if not isinstance(payload.get("model"), str) or not payload["model"]:
        raise InvalidRequestError("'model' is required and must be a string", param="model")
    try:
        body = model_cls.model_validate(payload)
    except ValidationError as error:
        raise validation_failure(error) from None
    except MODEL_VALIDATOR_ERRORS as error:
        raise refused_by_validator(error) from None
    except RecursionError:
        raise InvalidRequestError("the request body is nested too deeply") from None
    validate_messages(body)
    return body


def identify(router: Router, request: Request) -> Caller:
    """The caller the ``Authorization`` header proves; ``x-fleet-tenant`` counts only from a
    trusted upstream."""
    return router.identify(
        Credentials(
            request.headers.get("authorization"),
            claimed_tenant=request.headers.get(TENANT_METADATA),
        )
    )


def routing_hints(request: Request, body: OpenAIRequest, caller: Caller) -> RoutingHints:
    routing_key = request.headers.get(ROUTING_KEY_HEADER) or getattr(body, "user", None)
    return RoutingHints(
        model=body.model or "",
        routing_key=routing_key,
        tenant=caller.tenant,
        labels=request_labels(request),
        guard_policies=requested_guard_policies(request.headers.getlist(GUARD_POLICY_HEADER)),
        timeout_s=parse_timeout_ms(request.headers.get(TIMEOUT_HEADER)),
    )


def request_labels(request: Request) -> dict[str, str]:
    """Labels from ``x-fleet-label-<key>: <value>`` headers; HTTP lower-cases the keys."""
    return {
        name.removeprefix(LABEL_HEADER_PREFIX): value
        for name, value in request.headers.items()
        if name.startswith(LABEL_HEADER_PREFIX) and len(name) > len(LABEL_HEADER_PREFIX)
    }


def route_extension(decision: RouteDecision) -> dict[str, str]:
    """The ``fleet`` field added to non-streamed response bodies (OpenAI clients keep it as
    an extra field)."""
    return {
        "model": decision.model,
        "route": decision.route,
        "variant": decision.variant,
        "reason": decision.reason,
    }


def route_headers(
    decision: RouteDecision, guard: dict[str, object] | None = None
) -> dict[str, str]:
    """The same facts as ``x-fleet-*`` headers, for streamed responses too; the guard's
    verdict (on the prompt only, for a stream) as compact JSON in ``x-fleet-guardrails``."""
    headers = {f"x-fleet-{key}": value for key, value in route_extension(decision).items()}
    if guard is not None:
        headers[GUARDRAILS_HEADER] = json.dumps(guard, separators=(",", ":"))
    return headers


async def _serve(router: Router, request: Request, body_type: type[OpenAIRequest]) -> Response:
    # The key first: a caller without one learns nothing, not even what is wrong in its body.
    caller = identify(router, request)
    body = await parse_body(request, body_type, router.routing.config.max_request_bytes)
    hints = routing_hints(request, body, caller)
    if body.stream:
        stream = await router.generate_stream(body, hints, caller=caller)
        return StreamingResponse(
            _end_with_error_event(stream.chunks),
            media_type="text/event-stream",
            headers=route_headers(stream.decision, stream.guard),
        )
    result = await router.generate(body, hints, caller=caller)
    extension: dict[str, object] = {**route_extension(result.decision)}
    if result.guard is not None:
        extension["guardrails"] = result.guard
    body = {**result.body.model_dump(), "fleet": extension}
    return JSONResponse(body, headers=route_headers(result.decision, result.guard))


async def chat_completions(router: Router, request: Request) -> Response:
    return await _serve(router, request, ChatCompletionRequest)


async def completions(router: Router, request: Request) -> Response:
    return await _serve(router, request, CompletionRequest)


def list_models(router: Router, request: Request) -> JSONResponse:
    """The models and routes the caller may name."""
    cards = router.model_cards(identify(router, request))
    return JSONResponse({"object": "list", "data": cards})


def model_card(router: Router, request: Request, name: str) -> JSONResponse:
    """One model or route (alias) by name; 404 listing the caller's when it is neither (or
    not the caller's to use)."""
    caller = identify(router, request)
    card = next((card for card in router.model_cards(caller) if card["id"] == name), None)
    if card is None:
        raise ModelNotFoundError(name, router.visible_names(caller))
    return JSONResponse(card)


async def _end_with_error_event(chunks: AsyncGenerator[str, None]) -> AsyncIterator[str]:
    """After the first byte the status is sent: report a failure in-band, then stop."""
    try:
        # Closing explicitly (not at garbage collection) aborts the generation at
        # once when the client disconnects.
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk
    except Exception as error:
        if isinstance(error, ClientError | DeadlineExceededError):
            logger.info("stream ended by %s", type(error).__name__)
        elif isinstance(error, FleetError):
            logger.warning("stream ended by %s: %s", type(error).__name__, error.message)
        else:
            logger.exception("stream failed after it started")
        fleet_error = error if isinstance(error, FleetError) else ServerError(str(error))
        yield f"data: {json.dumps(to_openai_error(fleet_error))}\n\n"
        yield "data: [DONE]\n\n"
