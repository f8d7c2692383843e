"""Pure translations between ``fleet.v1`` messages and the router's types.

The gRPC adapter only calls these: GenerateRequest -> (OpenAI request, RoutingHints) on
the way in; OpenAI responses or stream chunks (+ RouteDecision) -> fleet.v1 messages on
the way out. Nothing here does I/O or keeps a clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from fleet.v1 import fleet_pb2
from pydantic import ValidationError

from services.errors import (
    DeadlineExceededError,
    FleetError,
    InvalidRequestError,
    OverloadedError,
    RetryableError,
    ServerError,
)

# The router's one import point for vLLM's OpenAI models (ray.serve.llm.openai_api_models).
from services.router.requests import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
)
from services.router.types import RouteDecision, RoutingHints
from services.router.validation import MODEL_VALIDATOR_ERRORS, refused_by_validator

CHAT_ROLES = ("system", "developer", "user", "assistant")
# OpenAI's (and vLLM's) limit.
MAX_STOP_STRINGS = 4

# OpenAI body field -> the GenerateRequest field a gRPC caller set, for error messages.
_PROTO_FIELD_FOR_PARAM = {
    "messages": "chat.messages",
    "prompt": "prompt",
    "model": "routing.model",
    "max_tokens": "sampling.max_tokens",
    "max_completion_tokens": "sampling.max_tokens",
    "temperature": "sampling.temperature",
    "top_p": "sampling.top_p",
    "top_k": "sampling.top_k",
    "seed": "sampling.seed",
    "stop": "sampling.stop",
    "presence_penalty": "sampling.presence_penalty",
    "frequency_penalty": "sampling.frequency_penalty",
    "ignore_eos": "sampling.ignore_eos",
    "request_id": "request_id",
}
# SamplingParams' `optional` scalars that pass through under their own names; max_tokens
# is renamed for chat (see _sampling_fields).
_OPTIONAL_SAMPLING = tuple(
    field.name
    for field in fleet_pb2.SamplingParams.DESCRIPTOR.fields
    if field.has_presence and field.name != "max_tokens"
)

_FINISH_REASONS = {
    "stop": fleet_pb2.FINISH_REASON_STOP,
    "length": fleet_pb2.FINISH_REASON_LENGTH,
    "abort": fleet_pb2.FINISH_REASON_ABORT,
    "content_filter": fleet_pb2.FINISH_REASON_CONTENT_FILTER,
}


def proto_param(param: str | None) -> str | None:
    """The GenerateRequest field path for an OpenAI body field named in an error."""
    if param is None:
        return None
    head, dot, rest = param.partition(".")
    if head not in _PROTO_FIELD_FOR_PARAM:
        return param
    return f"{_PROTO_FIELD_FOR_PARAM[head]}{dot}{rest}"


# -- request ------------------------------------------------------------------------------


def _chat_messages(chat: fleet_pb2.ChatInput) -> list[dict[str, str]]:
    if not chat.messages:
        raise InvalidRequestError("'chat.messages' must not be empty", param="chat.messages")
    messages = []
    for index, message in enumerate(chat.messages):
        if message.role not in CHAT_ROLES:
            raise InvalidRequestError(
                f"'chat.messages[{index}].role' must be one of {', '.join(CHAT_ROLES)}; "
                f"got {message.role!r}",
                param=f"chat.messages[{index}].role",
            )
        entry = {"role": message.role, "content": message.content}
        if message.name:
            entry["name"] = message.name
        messages.append(entry)
    return messages


def _sampling_fields(sampling: fleet_pb2.SamplingParams, *, chat: bool) -> dict[str, Any]:
    # Only what the caller set: absent fields keep the OpenAI models' own defaults.
    fields = {
        name: getattr(sampling, name) for name in _OPTIONAL_SAMPLING if sampling.HasField(name)
    }
    if sampling.HasField("max_tokens"):
        # Chat's current name for the limit; `max_tokens` is its deprecated alias.
        fields["max_completion_tokens" if chat else "max_tokens"] = sampling.max_tokens
    if len(sampling.stop) > MAX_STOP_STRINGS:
        raise InvalidRequestError(
            f"'sampling.stop' holds at most {MAX_STOP_STRINGS} strings", param="sampling.stop"
        )
    if sampling.stop:
        fields["stop"] = list(sampling.stop)
    return fields


def to_routing_hints(routing: fleet_pb2.RoutingHints) -> RoutingHints:
    if not routing.model:
        raise InvalidRequestError(
            "'routing.model' is required: a served model's name or an alias",
            param="routing.model",
        )
    return RoutingHints(
        model=routing.model,
        routing_key=routing.routing_key or None,
        tenant=routing.tenant or None,
        labels=dict(routing.labels),
    )


def to_openai_request(
    request: fleet_pb2.GenerateRequest, *, stream: bool = False
) -> tuple[ChatCompletionRequest | CompletionRequest, RoutingHints]:
    """The OpenAI request and routing hints for ``request``; raises InvalidRequestError.

    With ``stream`` the request asks for a final usage chunk, which ``stream_end`` needs.
    """
    hints = to_routing_hints(request.routing)
    kind = request.WhichOneof("input")
    if kind is None:
        raise InvalidRequestError("the request has no input: set 'chat' or 'prompt'", param="input")
    body: dict[str, Any] = {
        "model": hints.model,
        **_sampling_fields(request.sampling, chat=kind == "chat"),
    }
    if request.request_id:
        body["request_id"] = request.request_id
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if kind == "chat":
        body["messages"] = _chat_messages(request.chat)
        model_cls: type[ChatCompletionRequest | CompletionRequest] = ChatCompletionRequest
    else:
        if not request.prompt:
            raise InvalidRequestError("'prompt' must not be empty", param="prompt")
        body["prompt"] = request.prompt
        model_cls = CompletionRequest
    try:
        return model_cls.model_validate(body), hints
    except ValidationError as error:
        issue = error.errors()[0]
        # Only the top-level field: deeper parts of `loc` include pydantic's union tags.
        param = proto_param(str(issue["loc"][0])) if issue["loc"] else None
        raise InvalidRequestError(f"'{param}': {issue['msg']}", param=param) from None
    except MODEL_VALIDATOR_ERRORS as error:
        refused = refused_by_validator(error)
        raise InvalidRequestError(refused.message, param=proto_param(refused.param)) from None


# -- unary responses ----------------------------------------------------------------------


def finish_reason(value: str | None) -> fleet_pb2.FinishReason:
    """vLLM's finish reason as the enum; ones the .proto lacks (tool_calls...) are UNSPECIFIED."""
    return _FINISH_REASONS.get(value or "", fleet_pb2.FINISH_REASON_UNSPECIFIED)


def route_info(decision: RouteDecision) -> fleet_pb2.RouteInfo:
    return fleet_pb2.RouteInfo(
        model=decision.model, route=decision.route, variant=decision.variant, reason=decision.reason
    )


def usage(value: Mapping[str, Any] | Any | None) -> fleet_pb2.Usage:
    """From vLLM's ``UsageInfo`` or its JSON form."""
    if value is None:
        return fleet_pb2.Usage()
    fields = value if isinstance(value, Mapping) else value.model_dump()
    prompt = int(fields.get("prompt_tokens") or 0)
    completion = int(fields.get("completion_tokens") or 0)
    total = int(fields.get("total_tokens") or prompt + completion)
    return fleet_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def _engine_ttft_ms(metrics: Mapping[str, Any] | Any | None) -> float:
    # Present only when vLLM runs with per-request metrics on; measured from scheduling.
    if metrics is None:
        return 0.0
    fields = metrics if isinstance(metrics, Mapping) else metrics.model_dump()
    return float(fields.get("time_to_first_token_ms") or 0.0)


def generate_response(
    response: ChatCompletionResponse | CompletionResponse,
    route: RouteDecision,
    *,
    request_id: str | None = None,
    time_to_first_token_ms: float | None = None,
) -> fleet_pb2.GenerateResponse:
    """``time_to_first_token_ms`` defaults to the engine's own measure when it sent one.

    ``request_id`` defaults to the response's id.
    """
    text, reason = "", None
    if response.choices:
        choice = response.choices[0]
        if isinstance(response, ChatCompletionResponse):
            text = choice.message.content or ""
        else:
            text = choice.text
        reason = choice.finish_reason
    if time_to_first_token_ms is None:
        time_to_first_token_ms = _engine_ttft_ms(response.metrics)
    return fleet_pb2.GenerateResponse(
        text=text,
        finish_reason=finish_reason(reason),
        usage=usage(response.usage),
        route=route_info(route),
        time_to_first_token_ms=time_to_first_token_ms,
        request_id=request_id or response.id,
    )


def list_models_response(cards: Iterable[Mapping[str, Any]]) -> fleet_pb2.ListModelsResponse:
    """From OpenAI ``model`` objects (``ModelCatalog.model_cards()``)."""
    models = []
    for card in cards:
        metadata = card.get("metadata") or {}
        models.append(
            fleet_pb2.ModelInfo(
                id=card["id"],
                owned_by=card.get("owned_by") or "",
                max_model_len=card.get("max_model_len") or 0,
                source=metadata.get("source") or card.get("root") or "",
                family=metadata.get("family") or "",
                aliases=metadata.get("aliases") or [],
                created=card.get("created") or 0,
                description=metadata.get("description") or "",
                parent=card.get("parent") or "",
            )
        )
    return fleet_pb2.ListModelsResponse(models=models)


# -- streams ------------------------------------------------------------------------------


def chunks_from_sse(text: str) -> list[dict[str, Any]]:
    """The JSON chunks in server-sent-event text (one or several coalesced events).

    ``[DONE]`` is dropped; an in-band error event raises the matching FleetError.
    """
    chunks = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[len("data:") :].strip()
        if not payload or payload == "[DONE]":
            continue
        chunk = json.loads(payload)
        if "error" in chunk:
            raise _error_from_event(chunk["error"])
        chunks.append(chunk)
    return chunks


def _error_from_event(error: Mapping[str, Any]) -> FleetError:
    message = str(error.get("message") or "the stream failed")
    code = int(error.get("code") or 500)
    if code == 429:
        return OverloadedError(message)
    if code == 503:
        return RetryableError(message)
    if code == 504:
        return DeadlineExceededError(message)
    if 400 <= code < 500:
        return InvalidRequestError(message, param=proto_param(error.get("param")))
    return ServerError(message)


def chunk_text(chunk: Mapping[str, Any]) -> str:
    """New text in a ``chat.completion.chunk`` (delta.content) or ``text_completion`` (text)."""
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    choice = choices[0]
    delta = choice.get("delta")
    if isinstance(delta, Mapping):
        return delta.get("content") or ""
    return choice.get("text") or ""


def chunk_finish_reason(chunk: Mapping[str, Any]) -> str | None:
    choices = chunk.get("choices") or []
    return choices[0].get("finish_reason") if choices else None


def stream_delta(text: str, route: RouteDecision | None = None) -> fleet_pb2.GenerateStreamResponse:
    delta = fleet_pb2.TextDelta(text=text)
    if route is not None:
        delta.route.CopyFrom(route_info(route))
    return fleet_pb2.GenerateStreamResponse(delta=delta)


def stream_end(
    route: RouteDecision,
    *,
    finish_reason_value: str | None,
    usage_value: Mapping[str, Any] | None,
    time_to_first_token_ms: float,
    request_id: str,
) -> fleet_pb2.GenerateStreamResponse:
    end = fleet_pb2.StreamEnd(
        finish_reason=finish_reason(finish_reason_value),
        usage=usage(usage_value),
        route=route_info(route),
        time_to_first_token_ms=time_to_first_token_ms,
        request_id=request_id,
    )
    return fleet_pb2.GenerateStreamResponse(end=end)


class StreamTranslator:
    """Turns the OpenAI chunks of one stream into fleet.v1 events.

    ``feed`` each parsed chunk and send what it returns; the first delta carries the
    route. ``end`` builds the closing event from the finish reason and the usage chunk
    (requests carry ``stream_options.include_usage``) seen along the way.
    """

    def __init__(self, route: RouteDecision, request_id: str) -> None:
        self._route = route
        self._request_id = request_id
        self._finish_reason: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._engine_ttft_ms = 0.0
        self.deltas_sent = 0

    def feed(self, chunk: Mapping[str, Any]) -> fleet_pb2.GenerateStreamResponse | None:
        """The delta for ``chunk``, or None when it holds no text (role, usage chunks)."""
        self._finish_reason = chunk_finish_reason(chunk) or self._finish_reason
        self._usage = chunk.get("usage") or self._usage
        self._engine_ttft_ms = _engine_ttft_ms(chunk.get("metrics")) or self._engine_ttft_ms
        text = chunk_text(chunk)
        if not text:
            return None
        self.deltas_sent += 1
        return stream_delta(text, self._route if self.deltas_sent == 1 else None)

    def end(self, time_to_first_token_ms: float | None = None) -> fleet_pb2.GenerateStreamResponse:
        """The closing event; the TTFT defaults to the engine's own measure, if it sent one."""
        return stream_end(
            self._route,
            finish_reason_value=self._finish_reason,
            usage_value=self._usage,
            time_to_first_token_ms=(
                self._engine_ttft_ms if time_to_first_token_ms is None else time_to_first_token_ms
            ),
            request_id=self._request_id,
        )


def guard_report(metadata: Mapping[str, Any] | None) -> fleet_pb2.GuardReport | None:
    """``GuardSession.metadata()`` as a fleet.v1 GuardReport."""
    if metadata is None:
        return None
    report = fleet_pb2.GuardReport(policies=metadata.get("policies", []))
    for direction in ("input", "output"):
        decided = metadata.get(direction)
        if decided is None:
            continue
        getattr(report, direction).CopyFrom(
            fleet_pb2.GuardDecision(
                redacted=decided["redacted"],
                flagged=decided["flagged"],
                failed_checks=[
                    fleet_pb2.GuardCheckFailure(**failure) for failure in decided["failed_checks"]
                ],
            )
        )
    return report
