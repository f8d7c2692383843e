"""Parameter checks that vLLM would otherwise reject with a message naming no field."""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.errors import InvalidRequestError
from services.router.requests import OpenAIRequest


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


def validate_sampling(request: OpenAIRequest, max_model_len: int | None) -> None:
    """Raise ``InvalidRequestError`` naming the first out-of-range parameter."""
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
