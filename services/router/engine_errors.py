"""Turn an error that vLLM (through Ray Serve LLM) returned into one of ours."""

from __future__ import annotations

from pydantic import ValidationError

from services.errors import (
    FleetError,
    InvalidRequestError,
    ModelNotFoundError,
    OverloadedError,
    ReplicaLostError,
    RetryableError,
    ServerError,
    StreamInterruptedError,
)
from services.router.requests import ErrorResponse

CONTEXT_LENGTH_MARKERS = ("maximum context length", "context length", "too long")
# What vLLM says once its engine core process is gone (EngineDeadError): the replica
# cannot answer again, another one can.
ENGINE_DEAD_MARKERS = ("EngineCore encountered an issue", "EngineDeadError")
# vLLM ends a stream it cannot finish with an error event, not an exception.
SSE_ERROR = 'data: {"error"'
# vLLM's names for the prompt in its errors; callers know it as `messages` or `prompt`.
ENGINE_INPUT_PARAMS = {"input_text", "input_tokens", "prompt", "messages"}


def from_engine_error(
    response: ErrorResponse, *, model: str, input_field: str, served: list[str]
) -> FleetError:
    error = response.error
    code = int(error.code or 500)
    message = error.message or "the model returned an error"
    if code == 404:
        return ModelNotFoundError(model, served)
    if code == 429:
        return OverloadedError(message)
    if code == 503:
        return RetryableError(message)
    if code >= 500 and engine_died(message):
        return ReplicaLostError(f"model '{model}' lost its engine: {message}")
    if 400 <= code < 500:
        param = error.param
        about_length = any(marker in message.lower() for marker in CONTEXT_LENGTH_MARKERS)
        if param in ENGINE_INPUT_PARAMS or (param is None and about_length):
            param = input_field
        return InvalidRequestError(message, param=param)
    return ServerError(message)


def engine_died(text: str) -> bool:
    """Whether an error's text (a message, or an exception's type and message) is vLLM's
    report that its engine core process is gone."""
    return any(marker in text for marker in ENGINE_DEAD_MARKERS)


def mid_stream_error(
    response: ErrorResponse, *, model: str, input_field: str, served: list[str]
) -> FleetError:
    """An error the engine reported after the answer had started: a failure on its side
    ends the stream as interrupted (never retried, the caller holds part of an answer)."""
    error = from_engine_error(response, model=model, input_field=input_field, served=served)
    if isinstance(error, ServerError):
        return StreamInterruptedError(
            f"model '{model}' failed mid-answer ({error.message}); the answer is incomplete"
        )
    return error


def split_at_error(sse: str) -> tuple[str, ErrorResponse | None]:
    """The events of ``sse`` before an error event, and that error (None when there is none).
    Text is JSON-escaped inside events, so a completion cannot fake one."""
    if SSE_ERROR not in sse:
        return sse, None
    events = sse.split("\n\n")
    for index, event in enumerate(events):
        if event.startswith(SSE_ERROR):
            try:
                error = ErrorResponse.model_validate_json(event.removeprefix("data: "))
            except ValidationError:
                return sse, None
            return "".join(f"{before}\n\n" for before in events[:index] if before), error
    return sse, None
