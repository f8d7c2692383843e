"""Both streaming clients against real local servers: an SSE HTTP server and a gRPC server."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import pytest
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from loadtests.bench.clients import GrpcClient, OpenAIHTTPClient

CHUNK_GAP_S = 0.01


async def _handle_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP/1.1 completions endpoint: SSE for any prompt but "bad", which gets 400."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = json.loads(await reader.readexactly(length))
    if not head.startswith(b"POST /v1/completions ") or body["prompt"] == "bad":
        message = b'{"error": {"message": "prompt is bad"}}'
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(message), message)
        )
    else:
        assert body["stream"] is True and body["ignore_eos"] is True
        assert body["stream_options"] == {"include_usage": True}
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        for text in ("Hel", "lo", " world"):
            await asyncio.sleep(CHUNK_GAP_S)
            chunk = {"choices": [{"index": 0, "text": text}], "usage": None}
            writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await writer.drain()
        usage = {"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 7}}
        writer.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
    await writer.drain()
    writer.close()


@asynccontextmanager
async def _http_server() -> AsyncIterator[str]:
    server = await asyncio.start_server(_handle_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()


async def test_http_client_times_each_chunk_and_reads_usage() -> None:
    async with _http_server() as base_url, OpenAIHTTPClient(base_url, "tiny", 7) as client:
        result = await client.send("hello")

    assert result.ok and result.error is None
    assert len(result.token_times) == 3
    assert result.first_token_at == result.token_times[0]
    assert result.started < result.first_token_at < result.token_times[-1] <= result.finished
    assert result.token_times[-1] - result.token_times[0] >= CHUNK_GAP_S
    assert result.output_tokens == 7  # from usage, not the 3 chunks


async def test_http_client_reports_a_400_as_a_failure() -> None:
    async with _http_server() as base_url, OpenAIHTTPClient(base_url, "tiny", 7) as client:
        result = await client.send("bad")

    assert not result.ok
    assert result.error is not None and "400" in result.error and "prompt is bad" in result.error
    assert result.token_times == [] and result.first_token_at is None


async def test_http_client_reports_a_refused_connection_as_a_failure() -> None:
    async with _http_server() as base_url:
        pass  # closed: nothing listens on the port any more
    async with OpenAIHTTPClient(base_url, "tiny", 7) as client:
        result = await client.send("hello")

    assert not result.ok and result.error and "Connect" in result.error


class _FakeFleet(fleet_pb2_grpc.FleetServiceServicer):
    """Streams three deltas and an end event, or aborts when the prompt is "bad"."""

    async def GenerateStream(
        self, request: fleet_pb2.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[fleet_pb2.GenerateStreamResponse]:
        assert request.routing.model == "tiny" and request.sampling.max_tokens == 5
        assert request.sampling.ignore_eos  # fixed output lengths, as over HTTP
        if request.prompt == "bad":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "prompt: bad")
        for text in ("", "a", "b", "c"):  # an empty first delta carries only the route
            await asyncio.sleep(CHUNK_GAP_S)
            yield fleet_pb2.GenerateStreamResponse(delta=fleet_pb2.TextDelta(text=text))
        yield fleet_pb2.GenerateStreamResponse(
            end=fleet_pb2.StreamEnd(
                finish_reason=fleet_pb2.FINISH_REASON_LENGTH,
                usage=fleet_pb2.Usage(prompt_tokens=1, completion_tokens=5, total_tokens=6),
            )
        )


@asynccontextmanager
async def _grpc_server() -> AsyncIterator[str]:
    server = grpc.aio.server()
    fleet_pb2_grpc.add_FleetServiceServicer_to_server(_FakeFleet(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def test_grpc_client_times_each_delta_and_reads_usage() -> None:
    async with _grpc_server() as target, GrpcClient(target, "tiny", 5) as client:
        result = await client.send("hello")

    assert result.ok and result.error is None
    assert len(result.token_times) == 3  # the empty delta is not a token
    assert result.started < result.first_token_at < result.token_times[-1] <= result.finished
    assert result.output_tokens == 5


async def test_grpc_client_reports_the_status_code_name() -> None:
    async with _grpc_server() as target, GrpcClient(target, "tiny", 5) as client:
        result = await client.send("bad")

    assert not result.ok
    assert result.error is not None and result.error.startswith("INVALID_ARGUMENT")
    assert result.token_times == []


async def test_both_clients_send_the_api_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEET_API_KEY", "flk_key")
    async with OpenAIHTTPClient("http://127.0.0.1:1/v1", "m", 4) as http:
        assert http._client.headers["authorization"] == "Bearer flk_key"
    async with GrpcClient("127.0.0.1:1", "m", 4) as grpc_client:
        assert ("authorization", "Bearer flk_key") in grpc_client.metadata
    monkeypatch.delenv("FLEET_API_KEY")
    async with OpenAIHTTPClient("http://127.0.0.1:1/v1", "m", 4) as http:
        assert "authorization" not in http._client.headers
