"""Hand-written hostile HTTP requests for the fuzz tests (tests/integration/test_fuzz_http.py):
valid bodies kept cheap, the same with hostile fields, raw bytes that are not a JSON object
(too deep, too big, invalid UTF-8), odd headers and routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from services.router.requests import ChatCompletionRequest, CompletionRequest
from tests.support.fuzzing import (
    CHEAP_MAX_TOKENS,
    DEEP_NESTING,
    HUGE_FLOATS,
    HUGE_INTS,
    OVERSIZED_BYTES,
    any_json,
    deep_json,
    mutated,
    odd_text,
    prompt_text,
    shown,
    to_json,
)

# Served names whose requests stay cheap (no judge model, no queue of two).
CHEAP_MODELS = ("tiny-qwen2", "tiny-mistral", "chat")
OTHER_MODELS = ("", "gpt-9", "tiny-qwen2 ", "TINY-QWEN2", "../../etc/passwd", "tiny-qwen2:nope")
# A tiny model's context: any larger token limit must be refused, any smaller one may run.
CONTEXT_TOKENS = 1024
TOKEN_FIELDS = ("max_tokens", "max_completion_tokens")
BODIES = {"/v1/chat/completions": ChatCompletionRequest, "/v1/completions": CompletionRequest}


@dataclass(frozen=True)
class HttpCase:
    method: str
    path: str
    content: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    origin: str = ""

    def describe(self) -> str:
        return (
            f"[{self.origin}] {self.method} {self.path} {dict(self.headers)} {shown(self.content)}"
        )


# -- keeping valid requests cheap ---------------------------------------------------------


def _as_number(value: Any) -> float | None:
    """The number pydantic's lax mode would read from ``value`` (``"500"`` counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def keep_cheap(body: Any, path: str) -> Any:
    """A body that may run on a served model asks for at most a few tokens; limits the
    server must refuse (over the context, negative, wrong types) are left alone."""
    if not isinstance(body, dict) or body.get("model") not in CHEAP_MODELS:
        return body
    fields = TOKEN_FIELDS if path.endswith("chat/completions") else TOKEN_FIELDS[:1]
    for name in fields:
        number = _as_number(body.get(name))
        if number is None and body.get(name) is not None:
            continue  # a wrong type: refused
        if number is None or CHEAP_MAX_TOKENS < number <= CONTEXT_TOKENS:
            body[name] = CHEAP_MAX_TOKENS
    for name in ("min_tokens",):
        number = _as_number(body.get(name))
        if number is not None and CHEAP_MAX_TOKENS < number <= CONTEXT_TOKENS:
            body[name] = CHEAP_MAX_TOKENS
    return body


# -- strategies ---------------------------------------------------------------------------


def model_name() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(CHEAP_MODELS), st.sampled_from(OTHER_MODELS), odd_text())


@st.composite
def messages(draw: st.DrawFn) -> list[dict[str, Any]]:
    roles = st.sampled_from(["user", "system", "assistant", "developer", "tool", "robot", ""])
    count = draw(st.integers(0, 3))
    return [{"role": draw(roles), "content": draw(prompt_text())} for _ in range(count)]


@st.composite
def valid_body(draw: st.DrawFn, path: str) -> dict[str, Any]:
    """A body the API should accept (it may still be refused: a guardrail, an empty
    prompt); it asks for a handful of tokens."""
    body: dict[str, Any] = {
        "model": draw(st.sampled_from(CHEAP_MODELS)),
        "max_tokens": draw(st.integers(1, CHEAP_MAX_TOKENS)),
        "temperature": draw(st.floats(0, 2)),
    }
    if path.endswith("chat/completions"):
        body["messages"] = [{"role": "user", "content": draw(st.sampled_from(["hi", "status"]))}]
    else:
        body["prompt"] = draw(st.sampled_from(["hi", "The cluster is", ["a", "b"]]))
    optional = {
        "stream": st.booleans(),
        "n": st.integers(1, 2),
        "stop": st.lists(st.text(max_size=3), max_size=4),
        "seed": st.integers(0, 2**31),
        "top_p": st.floats(0.1, 1),
        "user": st.text(max_size=10),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            body[name] = draw(values)
    return body


def hostile_value(name: str) -> st.SearchStrategy[Any]:
    """Values aimed at one field: huge numbers, huge lists, wrong types, odd text."""
    specific = {
        "max_tokens": st.sampled_from([*HUGE_INTS, *HUGE_FLOATS, 10**400, "1e9", "many"]),
        "n": st.sampled_from([*HUGE_INTS, 17, 1000, 2.5, "2"]),
        "stop": st.one_of(
            st.lists(odd_text(), min_size=5, max_size=200),
            st.integers(1, 5).map(lambda k: ["x" * 10**k]),
        ),
        "messages": st.one_of(messages(), any_json()),
        "prompt": st.one_of(prompt_text(), st.lists(prompt_text(), max_size=3), any_json()),
        "logprobs": st.sampled_from([*HUGE_INTS, True, 21]),
        "top_logprobs": st.sampled_from([*HUGE_INTS, 21]),
        "logit_bias": st.dictionaries(odd_text(), any_json(2), max_size=4),
        "stream": any_json(2),
        "model": model_name(),
    }
    general = st.one_of(any_json(), st.sampled_from(HUGE_INTS), st.sampled_from(HUGE_FLOATS))
    return st.one_of(specific[name], general) if name in specific else general


def field_names(path: str) -> list[str]:
    known = sorted(BODIES[path].model_fields)
    return [*known, "fleet", "x-unknown", "", "__proto__"]


@st.composite
def mutated_body(draw: st.DrawFn, path: str) -> dict[str, Any]:
    """A valid body with one to three fields replaced by hostile values."""
    body = draw(valid_body(path))
    for name in draw(st.lists(st.sampled_from(field_names(path)), min_size=1, max_size=3)):
        body[name] = draw(hostile_value(name))
    return body


def _nested(depth: int, opener: str) -> str:
    return deep_json(depth, opener=opener)


@st.composite
def raw_body(draw: st.DrawFn, path: str) -> bytes:
    """Bytes that are not a well-formed JSON object, or are far too big or too deep."""
    kind = draw(
        st.sampled_from(
            ["deep", "deep-field", "oversized", "oversized-field", "utf8", "binary", "text"]
        )
    )
    if kind == "deep":
        return _nested(draw(st.sampled_from(DEEP_NESTING)), draw(st.sampled_from("[{"))).encode()
    if kind == "deep-field":
        depth = draw(st.sampled_from(DEEP_NESTING))
        field = draw(st.sampled_from(["messages", "prompt", "stop", "logit_bias", "x"]))
        inner = _nested(depth, draw(st.sampled_from("[{")))
        return f'{{"model": "tiny-qwen2", "max_tokens": 1, "{field}": {inner}}}'.encode()
    if kind == "oversized":
        padding = b" " * draw(st.sampled_from(OVERSIZED_BYTES))
        return padding + to_json(draw(valid_body(path))) + padding
    if kind == "oversized-field":
        size = draw(st.sampled_from(OVERSIZED_BYTES))
        body = {**draw(valid_body(path)), "x_padding": "p" * size}
        return to_json(body)
    if kind == "utf8":
        return draw(mutated(to_json(draw(valid_body(path)), ascii_only=False)))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    return draw(st.sampled_from([b"", b"null", b"[]", b'""', b"model=tiny-qwen2", b"{", b"1e999"]))


CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@st.composite
def headers(draw: st.DrawFn, auth: dict[str, dict[str, str]]) -> tuple[tuple[str, str], ...]:
    """Mostly the session's key; sometimes none, a wrong one or another tenant's; plus
    fleet's routing headers with odd values."""
    who = draw(st.sampled_from(["tests"] * 8 + ["limited", "none", "garbage"]))
    pairs = list(auth.get(who, {}).items())
    if who == "garbage":
        pairs.append(("Authorization", draw(st.sampled_from(["Bearer", "Basic eA==", "x"]))))
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type:
        pairs.append(("Content-Type", content_type))
    extras = st.sampled_from(
        ["x-fleet-routing-key", "x-fleet-label-", "x-fleet-label-tier", "x-fleet-guard-policy"]
        + ["x-fleet-guardrails", "x-fleet-tenant", "accept", "content-encoding"]
    )
    pairs += draw(st.lists(st.tuples(extras, header_text), max_size=3))
    return tuple(pairs)


@st.composite
def hostile_case(draw: st.DrawFn, auth: dict[str, dict[str, str]]) -> HttpCase:
    path = draw(st.sampled_from(sorted(BODIES)))
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "raw", "route"]))
    if kind == "route":
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
        path = draw(
            st.one_of(
                st.sampled_from([*BODIES, "/v1/models", "/health", "/openapi.json", "/v1", "/"]),
                odd_text().map(lambda name: "/v1/models/" + name.replace("\x00", "")),
                st.just("/v1/models/" + "m" * 10_000),
            )
        )
        content = draw(st.one_of(st.just(b""), st.binary(max_size=50)))
        return HttpCase(method, path, content, draw(headers(auth)), origin="route")
    if kind == "raw":
        content = draw(raw_body(path))
    else:
        body = draw(valid_body(path) if kind == "valid" else mutated_body(path))
        content = to_json(keep_cheap(body, path), ascii_only=draw(st.booleans()))
    return HttpCase("POST", path, content, draw(headers(auth)), origin=kind)
