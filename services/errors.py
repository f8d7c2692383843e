"""The one error tree of llm-fleet, mapped once to HTTP and once to gRPC.

Everything on the request path raises one of these; the transports translate
them (see ``to_openai_error`` here and ``services.api.grpc_status``).
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any


class FleetError(Exception):
    """Base of every error llm-fleet raises on purpose."""

    http_status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    openai_type: str = "internal_error"
    retry_after_s: float | None = None
    """When the same request may pass again (HTTP ``Retry-After``); None when unknown."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    @property
    def retry_after_header(self) -> str | None:
        """HTTP's ``Retry-After``: whole seconds, rounded up (never 0: that invites a storm)."""
        if self.retry_after_s is None:
            return None
        return str(max(1, math.ceil(self.retry_after_s)))

    def details(self) -> dict[str, str]:
        """Machine-readable facts beside the message: extra fields of the OpenAI error
        body, ``fleet-<key>`` trailing metadata over gRPC."""
        return {}

    def __reduce__(self) -> tuple[object, ...]:
        # Ray ships errors between processes by pickling them; subclasses whose
        # __init__ takes other arguments would not survive the default.
        return (_restore, (type(self), self.__dict__))


class ClientError(FleetError):
    """The request is wrong; retrying it unchanged fails again."""

    http_status = HTTPStatus.BAD_REQUEST
    openai_type = "invalid_request_error"


class InvalidRequestError(ClientError):
    """A malformed body or an out-of-range parameter; ``param`` names the field."""


class RequestTooLargeError(ClientError):
    """The request body is larger than the router accepts; refused before it is parsed."""

    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    openai_type = "request_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"the request body is larger than {limit_bytes} bytes")
        self.limit_bytes = limit_bytes

    def details(self) -> dict[str, str]:
        return {"limit_bytes": str(self.limit_bytes)}


class NotFoundError(ClientError):
    """The named thing does not exist here."""

    http_status = HTTPStatus.NOT_FOUND
    openai_type = "not_found"


class ModelNotFoundError(NotFoundError):
    """The requested model or alias is not served."""

    openai_type = "model_not_found"

    def __init__(self, requested: str, available: list[str]) -> None:
        listing = ", ".join(sorted(available)) or "none"
        super().__init__(
            f"The model '{requested}' does not exist. Models served: {listing}.", param="model"
        )
        self.requested = requested
        self.available = sorted(available)


class AuthenticationError(ClientError):
    """No API key, a malformed one, or one that is unknown or revoked. Never says which
    keys exist or echoes the one presented."""

    http_status = HTTPStatus.UNAUTHORIZED
    openai_type = "authentication_error"


class PermissionDeniedError(ClientError):
    """The caller is known but may not do this (a model, a route, an operator verb)."""

    http_status = HTTPStatus.FORBIDDEN
    openai_type = "permission_denied"


class QuotaExceededError(ClientError):
    """The caller's tenant is over one of its quotas; the same request passes later."""

    http_status = HTTPStatus.TOO_MANY_REQUESTS
    openai_type = "rate_limit_exceeded"

    def __init__(self, limit: str, retry_after_s: float) -> None:
        retry_after_s = max(retry_after_s, 0.0)
        super().__init__(
            f"over this API key's quota ({limit}); retry in {math.ceil(retry_after_s)} s"
        )
        self.limit = limit
        self.retry_after_s = retry_after_s

    def details(self) -> dict[str, str]:
        return {"quota": self.limit, "retry_after_s": f"{self.retry_after_s:.1f}"}


class GuardViolation(ClientError):
    """A guardrail check blocked the prompt or the completion. Carries the check and the
    category, never the matched text."""

    openai_type = "guardrail_violation"

    def __init__(
        self, check: str, category: str, *, direction: str = "input", param: str | None = None
    ) -> None:
        what = "prompt" if direction == "input" else "completion"
        super().__init__(
            f"The {what} was blocked by guardrail check '{check}' (category {category}).",
            param=param,
        )
        self.check = check
        self.category = category
        self.direction = direction

    def details(self) -> dict[str, str]:
        details = {
            "guardrail_check": self.check,
            "guardrail_category": self.category,
            "guardrail_direction": self.direction,
        }
        if self.direction == "output":
            details["finish_reason"] = "content_filter"
        return details


class ServerError(FleetError):
    """Something failed on our side."""


class RequestFailedError(ServerError):
    """The model's server raised on this request, its replica alive: the same request would
    fail again anywhere, so it is neither retried nor held against the model's health."""


class RetryableError(ServerError):
    """The cluster cannot take the request now; the same request may succeed later."""

    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    openai_type = "service_unavailable"


class ReplicaLostError(RetryableError):
    """A model replica (or its engine) failed before it sent anything: the router retries the
    request on the model's other replicas, then down the route's fallbacks."""


class StreamInterruptedError(RetryableError):
    """A model replica failed after the answer had started: what was sent stands, the rest
    never comes. Never retried (the caller has part of an answer); ends the stream in-band."""

    def details(self) -> dict[str, str]:
        return {"finish_reason": "abort"}


class OverloadedError(RetryableError):
    """Back-pressure: too many requests in flight. Refused before any engine work, so the
    caller may retry at once elsewhere or here after ``retry_after_s``."""

    http_status = HTTPStatus.TOO_MANY_REQUESTS
    openai_type = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def details(self) -> dict[str, str]:
        return {"retry_after_s": f"{self.retry_after_s:.1f}"}


class DeadlineExceededError(FleetError):
    """The caller's deadline passed before the answer was complete."""

    http_status = HTTPStatus.GATEWAY_TIMEOUT
    openai_type = "timeout"


def _restore(cls: type[FleetError], state: dict[str, Any]) -> FleetError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["message"])
    error.__dict__.update(state)
    return error


def to_openai_error(error: FleetError) -> dict[str, Any]:
    """The OpenAI-style error body for ``error``."""
    return {
        "error": {
            "message": error.message,
            "type": error.openai_type,
            "param": error.param,
            "code": int(error.http_status),
            **error.details(),
        }
    }
