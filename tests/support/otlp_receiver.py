"""An in-memory OpenTelemetry trace receiver, standing in for a collector in tests.

Asserting on traces through a real collector means another process, a config file and an
exporter to read its output back. This receiver speaks the two OTLP transports the SDK's
exporters use, OTLP/gRPC (``TraceService/Export``) and OTLP/HTTP (``POST /v1/traces`` with a
protobuf body), on local ports, and keeps what arrives as plain :class:`ReceivedSpan` values,
so a test points the code under test at ``grpc_endpoint`` or ``http_endpoint`` and then asserts
on :meth:`OtlpReceiver.spans`.

Exporters batch and send on their own threads, so a test should not look right after the
request it made: :meth:`OtlpReceiver.wait_for` polls until the spans it needs have arrived, and
its failure message (like :meth:`OtlpReceiver.tree`) shows what did arrive.

Only what the tests need is implemented: traces (not metrics or logs), protobuf bodies (not
OTLP/JSON), identity or gzip encoding, and every export is fully accepted. Errors answer with
a plain-text body rather than the ``google.rpc.Status`` the spec asks for, since the proto for
it is not among the installed packages.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import grpc
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.support.otlp_spans import ReceivedSpan, decode_request

__all__ = ["OtlpReceiver", "ReceivedSpan"]

HOST = "127.0.0.1"
TRACES_PATH = "/v1/traces"
PROTOBUF_CONTENT_TYPE = "application/x-protobuf"
# Exports carry at most a batch of spans; this only stops a broken client from exhausting memory.
MAX_BODY_BYTES = 64 * 1024 * 1024


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    """The OTLP/gRPC side: hands every export to the receiver and accepts it whole."""

    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(  # Name fixed by the generated servicer.
        self,
        request: trace_service_pb2.ExportTraceServiceRequest,
        context: grpc.ServicerContext,
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """Stores the request's spans; an empty response means nothing was rejected."""
        self._receiver._add(decode_request(request))
        return trace_service_pb2.ExportTraceServiceResponse()


class _HttpServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its receiver, so the handler class needs no globals."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], receiver: OtlpReceiver) -> None:
        super().__init__(address, _TracesHandler)
        self.receiver = receiver


class _TracesHandler(BaseHTTPRequestHandler):
    """The OTLP/HTTP side: ``POST /v1/traces`` with a (possibly gzipped) protobuf body."""

    server: _HttpServer

    def do_POST(self) -> None:  # Name fixed by the base class.
        """Checks the request the way a collector would, so a misconfigured exporter fails here."""
        if self.path.split("?", 1)[0] != TRACES_PATH:
            self._reply_text(HTTPStatus.NOT_FOUND, f"only {TRACES_PATH} is served")
            return
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type != PROTOBUF_CONTENT_TYPE:
            self._reply_text(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type must be {PROTOBUF_CONTENT_TYPE}, got {content_type or 'none'}",
            )
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._reply_text(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required")
            return
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self._reply_text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"{length} bytes is too much")
            return
        body = self.rfile.read(length)

        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding not in ("", "identity"):
                self._reply_text(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding} unsupported"
                )
                return
            request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        except (OSError, EOFError, DecodeError) as error:  # gzip raises OSError / EOFError.
            self._reply_text(HTTPStatus.BAD_REQUEST, f"cannot decode the body: {error}")
            return

        self.server.receiver._add(decode_request(request))
        payload = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", PROTOBUF_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reply_text(self, status: HTTPStatus, message: str) -> None:
        """Answers an error with a readable body, shown by the exporter in its warning log."""
        payload = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Keeps one access-log line per export out of the test output."""


class OtlpReceiver:
    """Receives OTLP trace exports over gRPC and HTTP on local ports and keeps the spans.

    Use it as a context manager (or call :meth:`start` and :meth:`stop`); a port of 0 lets the
    OS pick a free one, read back from :attr:`grpc_port` / :attr:`http_port` once started, so
    parallel test runs do not collide.
    """

    def __init__(self, grpc_port: int = 0, http_port: int = 0, *, max_workers: int = 4) -> None:
        self._requested_grpc_port = grpc_port
        self._requested_http_port = http_port
        self._max_workers = max_workers
        self._condition = threading.Condition()
        self._spans: list[ReceivedSpan] = []
        self._grpc_server: grpc.Server | None = None
        self._http_server: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc_port: int | None = None
        self._http_port: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> OtlpReceiver:
        """Binds and starts both servers; returns self so ``OtlpReceiver().start()`` chains."""
        if self._grpc_server is not None:
            raise RuntimeError("the OTLP receiver is already started")
        server = grpc.server(
            ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="otlp-grpc")
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)
        port = server.add_insecure_port(f"{HOST}:{self._requested_grpc_port}")
        if port == 0:  # Older grpcio reports a failed bind this way instead of raising.
            raise RuntimeError(f"cannot bind OTLP/gRPC on {HOST}:{self._requested_grpc_port}")
        server.start()
        self._grpc_server, self._grpc_port = server, port

        try:
            http_server = _HttpServer((HOST, self._requested_http_port), self)
        except OSError:
            self.stop()
            raise
        self._http_server, self._http_port = http_server, http_server.server_address[1]
        # A short poll interval keeps stop() (which waits for serve_forever to notice) fast.
        self._http_thread = threading.Thread(
            target=http_server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-http",
            daemon=True,
        )
        self._http_thread.start()
        return self

    def stop(self, grace_s: float = 0.5) -> None:
        """Stops both servers; safe to call twice or after a failed start. Keeps the spans."""
        if self._grpc_server is not None:
            self._grpc_server.stop(grace_s).wait()
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=grace_s + 1.0)
            self._http_thread = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- endpoints -----------------------------------------------------------------------------

    @property
    def grpc_port(self) -> int:
        """The bound OTLP/gRPC port (the OS's choice when 0 was asked for)."""
        if self._grpc_port is None:
            raise RuntimeError("the OTLP receiver is not started")
        return self._grpc_port

    @property
    def http_port(self) -> int:
        """The bound OTLP/HTTP port (the OS's choice when 0 was asked for)."""
        if self._http_port is None:
            raise RuntimeError("the OTLP receiver is not started")
        return self._http_port

    @property
    def grpc_endpoint(self) -> str:
        """What to give the gRPC exporter (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, insecure)."""
        return f"http://{HOST}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """What to give the HTTP exporter: the full traces URL, path included."""
        return f"http://{HOST}:{self.http_port}{TRACES_PATH}"

    # -- what arrived --------------------------------------------------------------------------

    def _add(self, spans: Sequence[ReceivedSpan]) -> None:
        """Stores spans from either transport and wakes any :meth:`wait_for`."""
        with self._condition:
            self._spans.extend(spans)
            self._condition.notify_all()

    def spans(self) -> list[ReceivedSpan]:
        """A copy of every span received so far, in arrival order."""
        with self._condition:
            return list(self._spans)

    def clear(self) -> None:
        """Forgets the spans received so far, e.g. between phases of one test."""
        with self._condition:
            self._spans.clear()

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        """The spans of one trace (hex id, any case), ordered by start time."""
        wanted = trace_id.lower()
        return sorted(
            (span for span in self.spans() if span.trace_id == wanted),
            key=lambda span: (span.start_ns, span.span_id),
        )

    def children(self, span: ReceivedSpan) -> list[ReceivedSpan]:
        """The spans whose parent is ``span``, ordered by start time."""
        return [
            candidate
            for candidate in self.trace(span.trace_id)
            if candidate.parent_span_id == span.span_id
        ]

    def wait_for(
        self,
        predicate: Callable[[list[ReceivedSpan]], bool],
        timeout_s: float = 5.0,
        *,
        description: str | None = None,
    ) -> list[ReceivedSpan]:
        """Waits until ``predicate(spans())`` holds, as exporters send later and in batches.

        Returns the spans the predicate accepted. On timeout, raises ``AssertionError`` naming
        what was awaited (``description``, else the predicate's name) and listing the span names
        of every trace that did arrive, which usually shows at once what went wrong.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.spans()
            if predicate(spans):
                return spans
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with self._condition:
                # Woken by each export; the cap re-checks predicates that depend on time.
                if len(self._spans) == len(spans):
                    self._condition.wait(timeout=min(remaining, 0.05))

        awaited = description or getattr(predicate, "__qualname__", repr(predicate))
        raise AssertionError(
            f"timed out after {timeout_s:g}s waiting for {awaited}; {self.summary()}"
        )

    def summary(self) -> str:
        """One line per trace with its span names, for failure messages."""
        traces: dict[str, list[str]] = {}
        for span in self.spans():
            traces.setdefault(span.trace_id, []).append(span.name)
        if not traces:
            return "no spans received"
        lines = [f"received {sum(map(len, traces.values()))} span(s) in {len(traces)} trace(s):"]
        lines += [f"  trace {trace_id}: {', '.join(names)}" for trace_id, names in traces.items()]
        return "\n".join(lines)

    def tree(self, trace_id: str) -> str:
        """Draws one trace as an indented tree, to put in assertion messages.

        Spans whose parent never arrived are shown as roots, marked with the missing parent id,
        since a broken parent link is usually exactly what the test is about.
        """
        spans = self.trace(trace_id)
        if not spans:
            return f"trace {trace_id.lower()}: no spans received"
        by_parent: dict[str | None, list[ReceivedSpan]] = {}
        for span in spans:
            by_parent.setdefault(span.parent_span_id, []).append(span)
        known_ids = {span.span_id for span in spans}
        roots = [span for span in spans if span.parent_span_id not in known_ids]

        lines = [f"trace {trace_id.lower()}:"]
        seen: set[str] = set()

        def draw(span: ReceivedSpan, depth: int) -> Iterator[str]:
            if span.span_id in seen:  # Only a corrupt export can loop; do not recurse forever.
                return
            seen.add(span.span_id)
            line = f"{'  ' * (depth + 1)}{span.name} [{span.kind}] {span.span_id}"
            if span.status_code != "STATUS_CODE_UNSET":
                line += f" {span.status_code}"
                if span.status_message:
                    line += f": {span.status_message}"
            if depth == 0 and span.parent_span_id is not None:
                line += f" (parent {span.parent_span_id} not received)"
            yield line
            for child in by_parent.get(span.span_id, []):
                yield from draw(child, depth + 1)

        for root in roots:
            lines.extend(draw(root, 0))
        return "\n".join(lines)
