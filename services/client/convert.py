"""Keyword arguments -> GenerateRequest, and protobuf responses -> the client's types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

from fleet.v1 import fleet_pb2

from services.client.types import (
    ChatMessage,
    FinishReason,
    Generation,
    ModelInfo,
    RouteInfo,
    StreamEnd,
    TextDelta,
    Usage,
)


class GenerateArgs(TypedDict, total=False):
    """The keyword arguments of ``generate`` and ``generate_stream``.

    Give exactly one of ``messages`` (a chat) or ``prompt`` (raw text). Sampling
    parameters left out take the model's defaults.
    """

    model: Required[str]
    messages: Sequence[ChatMessage | Mapping[str, str]]
    prompt: str
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int
    stop: str | Sequence[str]
    presence_penalty: float
    frequency_penalty: float
    ignore_eos: bool
    routing_key: str
    tenant: str
    labels: Mapping[str, str]
    request_id: str


# The sampling keywords copied as given: SamplingParams' `optional` scalars (max_tokens,
# temperature...). `stop` is repeated and has its own handling.
_SAMPLING_FIELDS = tuple(
    field.name for field in fleet_pb2.SamplingParams.DESCRIPTOR.fields if field.has_presence
)

_FINISH_REASONS = {
    fleet_pb2.FINISH_REASON_STOP: FinishReason.STOP,
    fleet_pb2.FINISH_REASON_LENGTH: FinishReason.LENGTH,
    fleet_pb2.FINISH_REASON_ABORT: FinishReason.ABORT,
    fleet_pb2.FINISH_REASON_CONTENT_FILTER: FinishReason.CONTENT_FILTER,
}


def _chat_message(message: ChatMessage | Mapping[str, str]) -> fleet_pb2.ChatMessage:
    if isinstance(message, ChatMessage):
        return fleet_pb2.ChatMessage(role=message.role, content=message.content, name=message.name)
    return fleet_pb2.ChatMessage(
        role=message["role"], content=message["content"], name=message.get("name", "")
    )


def build_request(**args: object) -> fleet_pb2.GenerateRequest:
    """The GenerateRequest for ``GenerateArgs``; raises ValueError/TypeError on misuse."""
    unknown = args.keys() - GenerateArgs.__annotations__.keys()
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    if "model" not in args:
        raise TypeError("missing keyword argument: model (a served model's name or an alias)")
    if ("messages" in args) == ("prompt" in args):
        raise ValueError("give exactly one of messages= or prompt=")
    request = fleet_pb2.GenerateRequest(request_id=str(args.get("request_id", "")))
    if "messages" in args:
        # SetInParent marks `chat` as the chosen input even for an empty list, so the
        # server reports "empty messages" rather than "no input".
        request.chat.SetInParent()
        request.chat.messages.extend(_chat_message(message) for message in args["messages"])
    else:
        request.prompt = str(args["prompt"])

    sampling = request.sampling
    for name in _SAMPLING_FIELDS:
        # None means "not given", like leaving the keyword out.
        if args.get(name) is not None:
            setattr(sampling, name, args[name])
    stop = args.get("stop") or ()
    sampling.stop.extend([stop] if isinstance(stop, str) else stop)

    routing = request.routing
    routing.model = str(args["model"])
    routing.routing_key = str(args.get("routing_key") or "")
    routing.tenant = str(args.get("tenant") or "")
    routing.labels.update(args.get("labels") or {})
    return request


def finish_reason(value: int) -> FinishReason:
    # Values from a newer server read as UNSPECIFIED, as the .proto asks.
    return _FINISH_REASONS.get(value, FinishReason.UNSPECIFIED)


def usage(message: fleet_pb2.Usage) -> Usage:
    return Usage(
        prompt_tokens=message.prompt_tokens,
        completion_tokens=message.completion_tokens,
        total_tokens=message.total_tokens,
    )


def route(message: fleet_pb2.RouteInfo) -> RouteInfo:
    return RouteInfo(
        model=message.model, route=message.route, variant=message.variant, reason=message.reason
    )


def _route_if_set(
    message: fleet_pb2.GenerateResponse | fleet_pb2.TextDelta | fleet_pb2.StreamEnd,
) -> RouteInfo | None:
    return route(message.route) if message.HasField("route") else None


def _outcome(message: fleet_pb2.GenerateResponse | fleet_pb2.StreamEnd) -> dict[str, Any]:
    """The fields a unary answer shares with the end of a stream, as keyword arguments."""
    return {
        "finish_reason": finish_reason(message.finish_reason),
        "usage": usage(message.usage),
        "route": _route_if_set(message),
        "time_to_first_token_ms": message.time_to_first_token_ms,
        "request_id": message.request_id,
    }


def generation(response: fleet_pb2.GenerateResponse) -> Generation:
    return Generation(text=response.text, **_outcome(response))


def text_delta(message: fleet_pb2.TextDelta) -> TextDelta:
    return TextDelta(text=message.text, route=_route_if_set(message))


def stream_end(message: fleet_pb2.StreamEnd) -> StreamEnd:
    return StreamEnd(**_outcome(message))


def model_info(message: fleet_pb2.ModelInfo) -> ModelInfo:
    return ModelInfo(
        id=message.id,
        owned_by=message.owned_by,
        max_model_len=message.max_model_len or None,
        source=message.source,
        family=message.family,
        aliases=tuple(message.aliases),
        created=message.created,
        description=message.description,
        parent=message.parent,
    )
