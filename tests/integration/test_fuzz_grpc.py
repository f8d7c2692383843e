"""Fuzzing the gRPC API (``fleet.v1.FleetService`` and the health service) through Ray
Serve's gRPC proxy: random and mutated messages, random bytes as the serialized request,
huge values. Every call ends with a status a client can act on (never INTERNAL, UNKNOWN or
UNAVAILABLE) and a non-empty message; no traceback reaches the router's or the proxy's
logs; the server answers afterwards.

``FLEET_FUZZ_CASES`` calls (default 1000) from seed ``FLEET_FUZZ_SEED``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from fleet.v1 import fleet_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from hypothesis import given, seed
from hypothesis import strategies as st

from tests.integration.conftest import LIMITED, RunningCluster
from tests.support.fuzzing import (
    CHEAP_MAX_TOKENS,
    HUGE_FLOATS,
    Findings,
    LogWatch,
    fuzz_cases,
    fuzz_seed,
    fuzz_settings,
    mutated,
    odd_text,
    prompt_text,
    shown,
)

SERVICE = "/fleet.v1.FleetService"
GENERATE = f"{SERVICE}/Generate"
GENERATE_STREAM = f"{SERVICE}/GenerateStream"
LIST_MODELS = f"{SERVICE}/ListModels"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
CHEAP_MODELS = ("tiny-qwen2", "tiny-mistral", "chat")
CONTEXT_TOKENS = 1024
TIMEOUT_S = 60.0
ACCEPTABLE = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.FAILED_PRECONDITION,
}
UINT32_EDGES = (0, 1, CHEAP_MAX_TOKENS + 1, CONTEXT_TOKENS + 1, 2**31 - 1, 2**31, 2**32 - 1)
INT32_EDGES = (-(2**31), -2, -1, 0, 1, 2**31 - 1)
INT64_EDGES = (-(2**63), -1, 0, 2**32, 2**63 - 1)


@dataclass(frozen=True)
class GrpcCase:
    method: str
    payload: bytes
    metadata: tuple[tuple[str, str], ...] = ()
    origin: str = ""

    def describe(self) -> str:
        return f"[{self.origin}] {self.method} {dict(self.metadata)} {shown(self.payload)}"


# -- strategies ---------------------------------------------------------------------------


def optional(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), values)


def doubles() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from(HUGE_FLOATS), st.floats(-3, 3), st.floats())


@st.composite
def sampling(draw: st.DrawFn) -> fleet_pb2.SamplingParams:
    params = fleet_pb2.SamplingParams(
        stop=draw(
            st.one_of(
                st.lists(st.text(max_size=4), max_size=4),
                st.lists(proto_text(), min_size=5, max_size=100),
                st.integers(2, 5).map(lambda k: ["s" * 10**k]),
            )
        )
    )
    fields = {
        "max_tokens": st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(UINT32_EDGES)),
        "temperature": doubles(),
        "top_p": doubles(),
        "top_k": st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from(INT32_EDGES)),
        "seed": st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from(INT64_EDGES)),
        "presence_penalty": doubles(),
        "frequency_penalty": doubles(),
        "ignore_eos": st.booleans(),
    }
    for name, values in fields.items():
        value = draw(optional(values))
        if value is not None:
            setattr(params, name, value)
    return params


@st.composite
def chat_input(draw: st.DrawFn) -> fleet_pb2.ChatInput:
    roles = st.sampled_from(["user", "system", "assistant", "developer", "tool", "", "USER"])
    count = draw(st.integers(0, 3))
    return fleet_pb2.ChatInput(
        messages=[
            fleet_pb2.ChatMessage(
                role=draw(roles),
                content=draw(proto_prompt()),
                name=draw(st.one_of(st.just(""), proto_text())),
            )
            for _ in range(count)
        ]
    )


def _encodable(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def proto_text() -> st.SearchStrategy[str]:
    """Text protobuf can carry (no lone surrogates: the client library refuses them)."""
    return odd_text().map(_encodable)


def proto_prompt() -> st.SearchStrategy[str]:
    return prompt_text().map(_encodable)


@st.composite
def routing(draw: st.DrawFn) -> fleet_pb2.RoutingHints:
    model = draw(
        st.one_of(
            st.sampled_from(CHEAP_MODELS),
            st.sampled_from(["", "gpt-9", "tiny-qwen2:x", "m" * 10_000]),
            proto_text(),
        )
    )
    return fleet_pb2.RoutingHints(
        model=model,
        routing_key=draw(st.one_of(st.just(""), proto_text())),
        tenant=draw(st.sampled_from(["", "tests", "acme", "limited", "nobody"])),
        labels=draw(st.dictionaries(proto_text(), proto_text(), max_size=3)),
    )


def keep_cheap(request: fleet_pb2.GenerateRequest) -> fleet_pb2.GenerateRequest:
    """A request that may run on a served model asks for at most a few tokens; limits
    over the context (refused) stay."""
    if request.routing.model in CHEAP_MODELS:
        sampling = request.sampling
        if not sampling.HasField("max_tokens") or (
            CHEAP_MAX_TOKENS < sampling.max_tokens <= CONTEXT_TOKENS
        ):
            sampling.max_tokens = CHEAP_MAX_TOKENS
    return request


@st.composite
def generate_request(draw: st.DrawFn) -> fleet_pb2.GenerateRequest:
    request = fleet_pb2.GenerateRequest(
        routing=draw(routing()),
        sampling=draw(sampling()),
        request_id=draw(st.one_of(st.just(""), proto_text(), st.just("r" * 100_000))),
    )
    kind = draw(st.sampled_from(["prompt", "chat", "none"]))
    if kind == "prompt":
        request.prompt = draw(proto_prompt())
    elif kind == "chat":
        request.chat.CopyFrom(draw(chat_input()))
    return keep_cheap(request)


@st.composite
def valid_request(draw: st.DrawFn) -> fleet_pb2.GenerateRequest:
    request = fleet_pb2.GenerateRequest(
        routing=fleet_pb2.RoutingHints(model=draw(st.sampled_from(CHEAP_MODELS))),
        sampling=fleet_pb2.SamplingParams(
            max_tokens=draw(st.integers(1, CHEAP_MAX_TOKENS)), temperature=0.0
        ),
    )
    if draw(st.booleans()):
        request.prompt = "The cluster is"
    else:
        request.chat.messages.add(role="user", content="hi")
    return request


def serialized(message: Message) -> bytes:
    return message.SerializeToString()


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@st.composite
def metadata(draw: st.DrawFn, auth: dict[str, tuple[tuple[str, str], ...]]) -> tuple:
    who = draw(st.sampled_from(["tests"] * 8 + ["limited", "none", "garbage"]))
    pairs = list(auth.get(who, ()))
    if who == "garbage":
        pairs.append(("authorization", draw(st.sampled_from(["Bearer", "Bearer x", "Basic"]))))
    keys = st.sampled_from(
        ["x-fleet-tenant", "x-fleet-guard-policy", "x-fleet-routing-key", "application"]
    )
    pairs += draw(st.lists(st.tuples(keys, header_text), max_size=2))
    return tuple(pairs)


@st.composite
def grpc_case(draw: st.DrawFn, auth: dict[str, tuple[tuple[str, str], ...]]) -> GrpcCase:
    kind = draw(
        st.sampled_from(["message"] * 5 + ["valid", "mutated", "mutated", "bytes", "other"])
    )
    method = draw(st.sampled_from([GENERATE, GENERATE_STREAM]))
    if kind == "message":
        payload = serialized(draw(generate_request()))
    elif kind == "valid":
        payload = serialized(draw(valid_request()))
    elif kind == "mutated":
        base = draw(st.one_of(valid_request(), generate_request()))
        payload = draw(mutated(serialized(base)))
    elif kind == "bytes":
        payload = draw(st.binary(max_size=300))
    else:
        method = draw(st.sampled_from([LIST_MODELS, HEALTH_CHECK]))
        valid = (
            fleet_pb2.ListModelsRequest()
            if method == LIST_MODELS
            else health_pb2.HealthCheckRequest(service=draw(proto_text()))
        )
        payload = draw(st.one_of(st.just(serialized(valid)), st.binary(max_size=100)))
    return GrpcCase(method, payload, draw(metadata(auth)), origin=kind)


# -- calling ------------------------------------------------------------------------------


def call(channel: grpc.Channel, case: GrpcCase) -> tuple[grpc.StatusCode, str]:
    """The call's status and message; raw bytes in, raw bytes out."""
    try:
        if case.method == GENERATE_STREAM:
            stream = channel.unary_stream(case.method)
            for _ in stream(case.payload, timeout=TIMEOUT_S, metadata=case.metadata):
                pass
        else:
            unary = channel.unary_unary(case.method)
            unary(case.payload, timeout=TIMEOUT_S, metadata=case.metadata)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def check(channel: grpc.Channel, case: GrpcCase, findings: Findings) -> None:
    code, details = call(channel, case)
    findings.count(f"{case.origin}:{code.name}")
    if code not in ACCEPTABLE:
        findings.add(f"{code.name}: {details[:300]}", case.describe())
    elif code != grpc.StatusCode.OK and not details.strip():
        findings.add(f"{code.name} without a message", case.describe())


# -- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def channel(cluster: RunningCluster) -> Iterator[grpc.Channel]:
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(cluster.endpoints.grpc, options=options) as channel:
        yield channel


@pytest.fixture(scope="module")
def auth(cluster: RunningCluster) -> dict[str, tuple[tuple[str, str], ...]]:
    return {"tests": tuple(cluster.metadata()), "limited": tuple(cluster.metadata(LIMITED))}


def test_fuzzed_calls_end_with_an_actionable_status(
    channel: grpc.Channel, auth: dict[str, tuple[tuple[str, str], ...]]
) -> None:
    watch = LogWatch.start()
    findings = Findings()
    started = time.monotonic()

    @seed(fuzz_seed())
    @fuzz_settings(fuzz_cases())
    @given(case=grpc_case(auth))
    def run(case: GrpcCase) -> None:
        check(channel, case, findings)

    run()
    print(
        f"\ngRPC fuzz: {findings.cases} calls in {time.monotonic() - started:.1f} s, "
        f"seed {fuzz_seed()}: {dict(sorted(findings.outcomes.items()))}"
    )
    assert not findings.problems, findings.report()
    assert findings.cases >= fuzz_cases()
    # The server still answers a plain request.
    request = fleet_pb2.GenerateRequest(
        prompt="hi",
        routing=fleet_pb2.RoutingHints(model="tiny-qwen2"),
        sampling=fleet_pb2.SamplingParams(max_tokens=2),
    )
    answer = fleet_pb2.GenerateResponse.FromString(
        channel.unary_unary(GENERATE)(
            serialized(request), timeout=TIMEOUT_S, metadata=auth["tests"]
        )
    )
    assert answer.usage.completion_tokens == 2
    tracebacks = watch.tracebacks()
    assert not tracebacks, "\n".join(tracebacks[:20])
