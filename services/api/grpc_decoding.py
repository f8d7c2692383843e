"""Requests whose bytes do not parse reach the router as a value, to be refused like any bad
request.

Ray Serve's gRPC proxy decodes each request with the servicer's deserializer before any of
our code runs. A message that does not parse (a corrupt or truncated body, a string that is
not UTF-8) would end there, as ``UNKNOWN`` with nothing said. The proxy registers the services
through the functions here instead (``GRPC_SERVICER_FUNCTIONS``). They wrap each deserializer
so that such a message becomes an ``UndecodableMessage``. The proxy forwards it, and the
handler answers ``INVALID_ARGUMENT`` through the one error mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from fleet.v1 import fleet_pb2_grpc
from grpc_health.v1 import health_pb2_grpc

from services.errors import InvalidRequestError

Message = TypeVar("Message")

# Import paths Ray Serve's gRPC proxy calls to register the services.
GRPC_SERVICER_FUNCTIONS = [
    "services.api.grpc_decoding.add_fleet_service",
    "services.api.grpc_decoding.add_health_service",
]


@dataclass(frozen=True)
class UndecodableMessage:
    """What arrived instead of a request message that could not be parsed."""

    message_type: str
    size: int
    reason: str


def decoded(request: Message | UndecodableMessage) -> Message:
    """The request, or ``InvalidRequestError`` if its bytes did not parse."""
    if isinstance(request, UndecodableMessage):
        raise InvalidRequestError(
            f"the request is not a valid {request.message_type} message "
            f"({request.size} bytes): {request.reason}"
        )
    return request


def tolerant(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """``parse``, returning an ``UndecodableMessage`` where it would raise."""
    message_class = getattr(parse, "__self__", None)
    message_type = getattr(message_class, "__name__", "request")

    def parse_or_describe(raw: bytes) -> Any:
        try:
            return parse(raw)
        except Exception as error:  # any parse failure is the sender's bytes, not a fault here
            return UndecodableMessage(
                message_type, len(raw), f"{type(error).__name__}: {error}"[:200]
            )

    parse_or_describe.tolerant = True  # type: ignore[attr-defined]
    return parse_or_describe


def _tolerant_handler(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    parse = handler.request_deserializer
    if parse is None or getattr(parse, "tolerant", False):
        return handler
    return handler._replace(request_deserializer=tolerant(parse))


class _TolerantRegistration:
    """The server as the generated ``add_*_to_server`` functions see it: it registers their
    handlers with tolerant deserializers."""

    def __init__(self, server: Any) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        for generic in handlers:
            methods = getattr(generic, "_method_handlers", {})
            for name, handler in methods.items():
                methods[name] = _tolerant_handler(handler)
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        tolerant_handlers = {name: _tolerant_handler(h) for name, h in handlers.items()}
        self._server.add_registered_method_handlers(service, tolerant_handlers)


def add_fleet_service(servicer: Any, server: Any) -> None:
    fleet_pb2_grpc.add_FleetServiceServicer_to_server(servicer, _TolerantRegistration(server))


def add_health_service(servicer: Any, server: Any) -> None:
    health_pb2_grpc.add_HealthServicer_to_server(servicer, _TolerantRegistration(server))
