"""The one exception the client raises for a failed call."""

from __future__ import annotations

import grpc


class FleetClientError(Exception):
    """A call failed; ``code`` is the gRPC status, ``message`` the server's explanation,
    ``metadata`` the server's trailing metadata (``fleet-error-type``,
    ``fleet-guardrail-check``, ...).

    Codes to expect: INVALID_ARGUMENT (fix the request, or a guardrail blocked it),
    NOT_FOUND (unknown model), RESOURCE_EXHAUSTED / UNAVAILABLE (retry later),
    DEADLINE_EXCEEDED, CANCELLED, INTERNAL.
    """

    def __init__(
        self, code: grpc.StatusCode, message: str, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.metadata = metadata or {}

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> FleetClientError:
        # Every concrete RpcError grpcio raises (sync and aio) is also a grpc.Call with
        # code() and details(); the base class itself promises neither.
        code_of = getattr(error, "code", None)
        details_of = getattr(error, "details", None)
        trailing_of = getattr(error, "trailing_metadata", None)
        code = code_of() if callable(code_of) else None
        details = details_of() if callable(details_of) else None
        trailing = trailing_of() if callable(trailing_of) else None
        metadata = {str(key): str(value) for key, value in trailing or ()}
        return cls(code or grpc.StatusCode.UNKNOWN, details or str(error), metadata)
