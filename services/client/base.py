"""What the blocking and asyncio clients share: their options and how calls apply them."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import grpc
from fleet.v1 import fleet_pb2_grpc

from services.client import convert
from services.client.retry import Deadline, RetryPolicy, resolve_policy

Metadata = Sequence[tuple[str, str]]
API_KEY_ENV = "FLEET_API_KEY"
# Each call's deadline, again as metadata: gRPC's own stops at Ray Serve's proxy, and the
# server ends the call itself when this passes (services/router/deadlines.py).
TIMEOUT_METADATA = "x-fleet-timeout-ms"
_MAX_TIMEOUT_MS = 86_400_000
# grpc.Channel for the blocking client, grpc.aio.Channel for the asyncio one.
Channel = TypeVar("Channel")


class ClientBase(Generic[Channel]):
    """The options and call helpers of ``FleetClient`` and ``AsyncFleetClient``.

    Subclasses open their kind of channel (``_open_channel``) and add the calls.
    ``api_key`` (default: the ``FLEET_API_KEY`` environment variable) goes with every call
    as ``authorization: Bearer <key>`` metadata.
    """

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Metadata = (),
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._channel = self._open_channel(target, credentials, channel_options)
        self._stub = fleet_pb2_grpc.FleetServiceStub(self._channel)
        self._timeout = timeout
        self._policy = resolve_policy(retry_policy, max_retries)
        api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        authorization = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._metadata = authorization + tuple(metadata)

    def _open_channel(
        self,
        target: str,
        credentials: grpc.ChannelCredentials | None,
        options: Sequence[tuple[str, Any]],
    ) -> Channel:
        """A secure channel with ``credentials``, else an insecure one."""
        raise NotImplementedError

    def _deadline(self, timeout: float | None) -> Deadline:
        return Deadline(self._timeout if timeout is None else timeout)

    def _call_metadata(self, metadata: Metadata) -> tuple[tuple[str, str], ...]:
        """The client's metadata, then the call's own."""
        return self._metadata + tuple(metadata)

    def _stream_starter(
        self, args: Mapping[str, Any], metadata: Metadata
    ) -> Callable[[float | None], Any]:
        """What starts one attempt of a GenerateStream call, given that attempt's timeout.

        The request is built here, so that misuse raises before the stream exists.
        """
        request = convert.build_request(**args)
        call_metadata = self._call_metadata(metadata)

        def start(attempt_timeout_s: float | None) -> Any:
            return self._stub.GenerateStream(
                request,
                timeout=attempt_timeout_s,
                metadata=with_timeout(call_metadata, attempt_timeout_s),
            )

        return start


def with_timeout(metadata: Metadata, timeout_s: float | None) -> tuple[tuple[str, str], ...]:
    """``metadata`` plus the attempt's deadline for the server, in whole milliseconds."""
    if timeout_s is None:
        return tuple(metadata)
    timeout_ms = min(_MAX_TIMEOUT_MS, max(1, math.ceil(timeout_s * 1000)))
    return (*metadata, (TIMEOUT_METADATA, str(timeout_ms)))
