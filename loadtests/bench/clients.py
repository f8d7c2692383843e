"""Async streaming clients (OpenAI HTTP and fleet gRPC) that timestamp every streamed chunk.

Both return the same ``RequestResult`` so that the runner and the statistics do not care
which transport produced it. Times are ``time.perf_counter()`` readings taken on the
client, which is what a user experiences (queueing, network and server time included).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from services.client.base import API_KEY_ENV

# How much of an error body to keep: enough to diagnose, not enough to flood a report.
_MAX_ERROR_CHARS = 500


@dataclass
class RequestResult:
    """The timeline of one request.

    ``token_times`` holds the arrival time of each streamed content chunk (a chunk may
    carry more than one token when the server batches; ``output_tokens`` comes from the
    server's usage numbers when it sends them, else it is the number of content chunks).
    """

    ok: bool
    error: str | None
    started: float
    token_times: list[float] = field(default_factory=list)
    finished: float = 0.0
    output_tokens: int = 0
    retry_after_s: float | None = None
    """When the server said the request may pass again (HTTP Retry-After, gRPC
    ``fleet-retry-after-s``), for a refused request."""

    @property
    def first_token_at(self) -> float | None:
        return self.token_times[0] if self.token_times else None


def authorization() -> dict[str, str]:
    """``Authorization: Bearer $FLEET_API_KEY`` when the variable is set (llm-fleet needs it;
    bare vLLM and Ray Serve LLM, started without keys, ignore it)."""
    key = os.environ.get(API_KEY_ENV)
    return {"authorization": f"Bearer {key}"} if key else {}


class OpenAIHTTPClient:
    """Streams ``POST {base_url}/completions`` and parses the SSE ``data:`` lines.

    ``ignore_eos`` and ``temperature=0`` make every request generate exactly
    ``max_tokens`` tokens, so runs are comparable across systems and transports.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        max_tokens: int,
        *,
        timeout_s: float = 600.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/completions"
        self.model = model
        self.max_tokens = max_tokens
        # No connection cap: the runner, not the pool, must decide the concurrency.
        self._client = client or httpx.AsyncClient(
            timeout=timeout_s, limits=httpx.Limits(max_connections=None), headers=authorization()
        )

    async def __aenter__(self) -> OpenAIHTTPClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def payload(self, prompt: str) -> dict[str, object]:
        """The request body for ``prompt``."""
        return {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": self.max_tokens,
            "stream": True,
            "ignore_eos": True,
            "temperature": 0,
            "stream_options": {"include_usage": True},
        }

    async def send(self, prompt: str) -> RequestResult:
        """Send one streaming completion; never raises, failures come back as ``ok=False``."""
        started = time.perf_counter()
        token_times: list[float] = []
        usage_tokens: int | None = None
        try:
            async with self._client.stream("POST", self.url, json=self.payload(prompt)) as resp:
                if resp.status_code != 200:
                    body = (await resp.aread()).decode("utf-8", "replace")[:_MAX_ERROR_CHARS]
                    return _failed(
                        started,
                        token_times,
                        f"HTTP {resp.status_code}: {body}",
                        _seconds(resp.headers.get("retry-after")),
                    )
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, comments, event: lines
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        break
                    now = time.perf_counter()
                    chunk = json.loads(data)
                    if _has_text(chunk):
                        token_times.append(now)
                    usage = chunk.get("usage")
                    if usage and usage.get("completion_tokens") is not None:
                        usage_tokens = int(usage["completion_tokens"])
        except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            return _failed(started, token_times, f"{type(exc).__name__}: {exc}")
        return _succeeded(started, token_times, usage_tokens)


def _has_text(chunk: dict[str, Any]) -> bool:
    """Whether an OpenAI completions chunk carries generated text (not just usage)."""
    return any(isinstance(c, dict) and c.get("text") for c in chunk.get("choices") or [])


# llm-fleet's Retry-After as gRPC trailing metadata (services.errors: details, prefixed).
RETRY_AFTER_METADATA = "fleet-retry-after-s"


class GrpcClient:
    """Streams ``fleet.v1.FleetService/GenerateStream`` over one shared ``grpc.aio`` channel.

    Greedy with ``ignore_eos``, like the HTTP client: exactly ``max_tokens`` tokens each.
    """

    def __init__(
        self,
        target: str,
        model: str,
        max_tokens: int,
        *,
        timeout_s: float = 600.0,
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.metadata = (*authorization().items(), *metadata)
        self._channel = grpc.aio.insecure_channel(target)
        self._stub = fleet_pb2_grpc.FleetServiceStub(self._channel)

    async def __aenter__(self) -> GrpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the channel."""
        await self._channel.close()

    def request(self, prompt: str) -> fleet_pb2.GenerateRequest:
        """The request for ``prompt`` (greedy, ``max_tokens`` tokens)."""
        return fleet_pb2.GenerateRequest(
            prompt=prompt,
            sampling=fleet_pb2.SamplingParams(
                max_tokens=self.max_tokens, temperature=0.0, ignore_eos=True
            ),
            routing=fleet_pb2.RoutingHints(model=self.model),
        )

    async def send(self, prompt: str) -> RequestResult:
        """Send one streaming generation; never raises, failures come back as ``ok=False``."""
        started = time.perf_counter()
        token_times: list[float] = []
        usage_tokens: int | None = None
        ended = False
        try:
            call = self._stub.GenerateStream(
                self.request(prompt), timeout=self.timeout_s, metadata=self.metadata or None
            )
            async for message in call:
                now = time.perf_counter()
                event = message.WhichOneof("event")
                if event == "delta" and message.delta.text:
                    token_times.append(now)
                elif event == "end":
                    ended = True
                    if message.end.HasField("usage"):
                        usage_tokens = message.end.usage.completion_tokens
        except grpc.aio.AioRpcError as exc:
            retry_after = dict(exc.trailing_metadata() or ()).get(RETRY_AFTER_METADATA)
            return _failed(
                started, token_times, f"{exc.code().name}: {exc.details()}", _seconds(retry_after)
            )
        if not ended:
            return _failed(started, token_times, "stream closed without an end event")
        return _succeeded(started, token_times, usage_tokens)


def _succeeded(started: float, token_times: list[float], usage_tokens: int | None) -> RequestResult:
    return RequestResult(
        ok=True,
        error=None,
        started=started,
        token_times=token_times,
        finished=time.perf_counter(),
        output_tokens=usage_tokens if usage_tokens is not None else len(token_times),
    )


def _failed(
    started: float, token_times: list[float], error: str, retry_after_s: float | None = None
) -> RequestResult:
    return RequestResult(
        ok=False,
        error=error,
        started=started,
        token_times=token_times,
        finished=time.perf_counter(),
        output_tokens=len(token_times),
        retry_after_s=retry_after_s,
    )


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
