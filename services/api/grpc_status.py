"""The one mapping from llm-fleet's errors to gRPC status codes.

HTTP statuses come from ``FleetError.http_status``; this is their gRPC twin. Error
classes named here map explicitly; any other ``FleetError`` subclass maps through its
HTTP status (the standard HTTP -> gRPC table), so a new error class gets a sensible
code over both transports without an edit here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

import grpc

from services.errors import (
    ClientError,
    DeadlineExceededError,
    FleetError,
    GuardViolation,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    RetryableError,
    ServerError,
)

# Most specific first: the first class the error is an instance of wins.
STATUS_BY_ERROR: tuple[tuple[type[FleetError], grpc.StatusCode], ...] = (
    (DeadlineExceededError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (GuardViolation, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (RetryableError, grpc.StatusCode.UNAVAILABLE),
    (ServerError, grpc.StatusCode.INTERNAL),
)

_STATUS_BY_HTTP = {
    HTTPStatus.BAD_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    HTTPStatus.UNAUTHORIZED: grpc.StatusCode.UNAUTHENTICATED,
    HTTPStatus.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    HTTPStatus.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    HTTPStatus.CONFLICT: grpc.StatusCode.ABORTED,
    # gRPC's own answer to a message over its size limit.
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    HTTPStatus.TOO_MANY_REQUESTS: grpc.StatusCode.RESOURCE_EXHAUSTED,
    HTTPStatus.NOT_IMPLEMENTED: grpc.StatusCode.UNIMPLEMENTED,
    HTTPStatus.SERVICE_UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    HTTPStatus.GATEWAY_TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
}

# Trailing metadata keys that carry the error's details beside the status message.
ERROR_TYPE_KEY = "fleet-error-type"
ERROR_PARAM_KEY = "fleet-error-param"


def _metadata_key(detail: str) -> str:
    """``guardrail_check`` -> ``fleet-guardrail-check`` (gRPC keys are lower-case)."""
    return "fleet-" + detail.replace("_", "-")


@dataclass(frozen=True)
class GrpcStatus:
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str], ...] = ()


class StatusContext(Protocol):
    """What ``grpc.ServicerContext``, its aio twin and Ray Serve's gRPC context share."""

    def set_code(self, code: grpc.StatusCode) -> None: ...

    def set_details(self, details: str) -> None: ...

    def set_trailing_metadata(self, trailing_metadata: list[tuple[str, str]]) -> None: ...


def status_code_for(error_type: type[FleetError]) -> grpc.StatusCode:
    for error_class, code in STATUS_BY_ERROR:
        if issubclass(error_type, error_class):
            return code
    http_status = HTTPStatus(error_type.http_status)
    if http_status in _STATUS_BY_HTTP:
        return _STATUS_BY_HTTP[http_status]
    if issubclass(error_type, ClientError) or 400 <= http_status < 500:
        # A 4xx with no closer gRPC meaning: the request cannot succeed as the system is.
        return grpc.StatusCode.FAILED_PRECONDITION
    return grpc.StatusCode.INTERNAL


def to_grpc_status(error: BaseException) -> GrpcStatus:
    """The status to end a call with after ``error``.

    Errors that are not ours say only their type: their text may hold internals.
    """
    if isinstance(error, FleetError):
        metadata = [(ERROR_TYPE_KEY, error.openai_type)]
        if error.param:
            metadata.append((ERROR_PARAM_KEY, error.param))
        metadata += [(_metadata_key(key), value) for key, value in error.details().items()]
        return GrpcStatus(status_code_for(type(error)), error.message, tuple(metadata))
    if isinstance(error, asyncio.CancelledError):
        return GrpcStatus(grpc.StatusCode.CANCELLED, "the call was cancelled")
    if isinstance(error, TimeoutError):
        return GrpcStatus(grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline passed")
    return GrpcStatus(grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}")


def apply_status(context: StatusContext, status: GrpcStatus) -> None:
    context.set_code(status.code)
    context.set_details(status.details)
    if status.trailing_metadata:
        context.set_trailing_metadata(list(status.trailing_metadata))
