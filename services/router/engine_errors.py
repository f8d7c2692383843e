"""Turn an error that vLLM (through Ray Serve LLM) returned into one of ours."""

from __future__ import annotations

from services.errors import (
    FleetError,
    InvalidRequestError,
    ModelNotFoundError,
    OverloadedError,
    RetryableError,
    ServerError,
)
from services.router.requests import ErrorResponse

CONTEXT_LENGTH_MARKERS = ("maximum context length", "context length", "too long")
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
    if 400 <= code < 500:
        param = error.param
        about_length = any(marker in message.lower() for marker in CONTEXT_LENGTH_MARKERS)
        if param in ENGINE_INPUT_PARAMS or (param is None and about_length):
            param = input_field
        return InvalidRequestError(message, param=param)
    return ServerError(message)
