"""Parameter checks that vLLM would otherwise reject with a message naming no field."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from vllm.exceptions import VLLMClientError, VLLMValidationError

from services.errors import InvalidRequestError
from services.router.requests import OpenAIRequest

# What the engine's request serialisation (msgspec) can carry; a larger integer anywhere
# in a request failed inside the engine, which then counted as a replica failure.
INT_LOW, INT_HIGH = -(2**63), 2**64 - 1
# Exceptions vLLM's request models raise from their own validators, which pydantic lets
# through unwrapped (a wrong type there fails as AttributeError or TypeError).
MODEL_VALIDATOR_ERRORS = (VLLMClientError, ValueError, TypeError, AttributeError, KeyError)


@dataclass(frozen=True)
class Bound:
    field: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True

    def check(self, value: float) -> None:
        if math.isnan(value):
            raise InvalidRequestError(f"'{self.field}' must be a number", param=self.field)
        too_low = self.low is not None and (
            value < self.low if self.low_inclusive else value <= self.low
        )
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            raise InvalidRequestError(
                f"'{self.field}' must be {self._describe()}, got {value}", param=self.field
            )

    def _describe(self) -> str:
        low = "" if self.low is None else f"{'>=' if self.low_inclusive else '>'} {self.low:g}"
        high = "" if self.high is None else f"<= {self.high:g}"
        return " and ".join(part for part in (low, high) if part)


SAMPLING_BOUNDS = (
    Bound("max_tokens", low=1),
    Bound("max_completion_tokens", low=1),
    Bound("n", low=1, high=16),
    Bound("temperature", low=0, high=2),
    Bound("top_p", low=0, high=1, low_inclusive=False),
    Bound("presence_penalty", low=-2, high=2),
    Bound("frequency_penalty", low=-2, high=2),
    Bound("repetition_penalty", low=0, low_inclusive=False),
    Bound("min_p", low=0, high=1),
)


def _given(request: OpenAIRequest, field: str) -> float | None:
    # Read the stored value: attribute access on a deprecated field (max_tokens) warns.
    return vars(request).get(field)


def refused_by_validator(error: Exception) -> InvalidRequestError:
    """The client error for an exception a request model's validator raised (not pydantic's
    ``ValidationError``): vLLM's names the parameter; others say only that a field has the
    wrong shape (their text describes our internals, not the request)."""
    if isinstance(error, VLLMValidationError):
        message = str(error.args[0]) if error.args else "the request is invalid"
        return InvalidRequestError(message, param=error.parameter)
    if isinstance(error, VLLMClientError):
        return InvalidRequestError(str(error))
    return InvalidRequestError(
        f"the request body has a field of the wrong shape ({type(error).__name__})"
    )


def _oversized_int(value: Any, depth: int = 0) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not INT_LOW <= value <= INT_HIGH
    if depth > 8:
        return False
    if isinstance(value, dict):
        # Token ids as keys (``logit_bias``) are strings in JSON.
        keys = [int(key) if isinstance(key, str) and _is_int(key) else key for key in value]
        return any(_oversized_int(item, depth + 1) for item in [*keys, *value.values()])
    if isinstance(value, list | tuple | set):
        return any(_oversized_int(item, depth + 1) for item in value)
    return False


def _is_int(text: str) -> bool:
    digits = text.strip().removeprefix("-").removeprefix("+")
    return digits.isascii() and digits.isdigit() and len(digits) < 100


def validate_integers(request: OpenAIRequest) -> None:
    """Raise ``InvalidRequestError`` naming the first field with an integer beyond 64 bits
    (a seed, token ids, a logit bias)."""
    for field, value in vars(request).items():
        if _oversized_int(value):
            raise InvalidRequestError(f"'{field}' holds an integer beyond 64 bits", param=field)


# The only way a lone surrogate gets into a parsed body: a \\uD800-\\uDFFF escape.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _holds_lone_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:  # not recursive: a body may nest as deep as JSON parsing allows
        item = pending.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def validate_unicode(payload: dict[str, Any], raw: bytes) -> None:
    """Raise ``InvalidRequestError`` naming the field that holds a lone surrogate. JSON can
    spell one (``\\ud800``) though no UTF-8 text holds it; the engine's serialisation then
    failed, which counted as a replica failure."""
    if not _SURROGATE_ESCAPE.search(raw):
        return
    for field, value in payload.items():
        if _holds_lone_surrogate(field) or _holds_lone_surrogate(value):
            param = field if _encodable(field) else None
            name = f"'{param}'" if param else "a field name"
            raise InvalidRequestError(
                f"{name} holds text that is not valid Unicode (a lone surrogate)", param=param
            )


# Lazy fields sit at most a few levels into a message (content parts, tool calls).
_LAZY_DEPTH = 4


def validation_failure(error: ValidationError, prefix: str = "") -> InvalidRequestError:
    """The client error for pydantic's first complaint, naming the field by its path."""
    issue = error.errors()[0]
    field = ".".join(str(part) for part in (prefix, *issue["loc"]) if part != "") or None
    return InvalidRequestError(f"'{field}': {issue['msg']}", param=field)


def validate_messages(request: OpenAIRequest) -> None:
    """Raise ``InvalidRequestError`` for a chat message that is not an OpenAI message
    object: vLLM's union also admits its internal ``Message`` (``author``, no ``role``),
    which its chat renderer then fails on as an engine error.

    Also checks now what pydantic left lazy: the OpenAI message types declare content parts
    and tool calls ``Iterable``, which pydantic validates only as they are iterated; the
    unread iterator would fail to pickle on its way to the replica."""
    for index, message in enumerate(vars(request).get("messages") or ()):
        field = f"messages.{index}"
        if not isinstance(message, MutableMapping) or not isinstance(message.get("role"), str):
            raise InvalidRequestError(
                f"'{field}' must be an object with a 'role' and a 'content'", param=field
            )
        for key, value in message.items():
            message[key] = _read_lazy(value, f"{field}.{key}")


def _read_lazy(value: Any, field: str, depth: int = 0) -> Any:
    if isinstance(value, Iterator):
        try:
            value = list(value)
        except ValidationError as error:
            raise validation_failure(error, prefix=field) from None
    if depth >= _LAZY_DEPTH:
        return value
    if isinstance(value, list):
        return [_read_lazy(item, f"{field}.{index}", depth + 1) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _read_lazy(item, f"{field}.{key}", depth + 1) for key, item in value.items()}
    return value


def validate_sampling(request: OpenAIRequest, max_model_len: int | None) -> None:
    """Raise ``InvalidRequestError`` naming the first out-of-range parameter."""
    validate_integers(request)
    for bound in SAMPLING_BOUNDS:
        value = _given(request, bound.field)
        if value is not None:
            bound.check(value)
    top_k = _given(request, "top_k")
    if top_k is not None and top_k < -1:
        raise InvalidRequestError("'top_k' must be -1 (off) or >= 0", param="top_k")
    field = "max_tokens" if _given(request, "max_tokens") else "max_completion_tokens"
    limit = _given(request, field)
    if limit is not None and max_model_len is not None and limit > max_model_len:
        raise InvalidRequestError(
            f"'{field}' ({limit}) exceeds the model's context length of {max_model_len} tokens",
            param=field,
        )
